package main

import (
	"context"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/traefik-authgear/traefik-authgear/harness/internal/harness"
	"github.com/traefik-authgear/traefik-authgear/harness/internal/stack"
)

// fakePhase builds a one-round phase from rps, p50, p99 per row; 10 µs CPU per request.
func fakePhase(latency time.Duration, rows map[string][3]float64) *phase {
	p := &phase{latency: latency, rows: map[string]*rowResult{}}
	for name, v := range rows {
		p.rows[name] = summarize([]sample{{res: wrkResult{Requests: int64(v[0]), DurationUS: 1e6, P50US: v[1], P99US: v[2]},
			cpu: time.Duration(v[0]) * 10 * time.Microsecond}})
	}
	setRatios(p.rows)
	return p
}

func TestEvaluate(t *testing.T) {
	fast := fakePhase(0, map[string][3]float64{
		"traefik-bare": {10000, 1000, 3000}, "plugin-hit": {9500, 1050, 3100}, "forwardauth": {3000, 3000, 9000},
		"nginx-bare": {30000, 500, 900}, "nginx-auth-cache": {27000, 600, 1000},
		"trivial-plugin": {9800, 1020, 3000}, "plugin-anon": {9000, 1100, 3200}, "plugin-revalidating": {9400, 1060, 3300},
		"traefik-bare-browser": {9000, 1100, 3300}, "trivial-plugin-browser": {8900, 1120, 3300}, "plugin-hit-browser": {8600, 1150, 3400}, "plugin-anon-browser": {8700, 1140, 3300},
	})
	slow := fakePhase(20*time.Millisecond, map[string][3]float64{
		"plugin-hit": {9500, 1050, 3100}, "forwardauth": {1400, 22000, 30000}, "trivial-plugin": {9800, 1020, 3000}, "plugin-revalidating": {9000, 1100, 3500},
	})
	bursts := []burstResult{{row: "plugin-hit", requests: 200, ok: 200, calls: 1}, {row: "nginx-auth-cache", requests: 200, ok: 200, calls: 3}}
	mem := &memResult{sessions: 1000, before: memSnapshot{rss: 1 << 20, heap: 1 << 19}, after: memSnapshot{rss: 1<<20 + 900000, heap: 1<<19 + 1100000}}
	v := evaluate([]*phase{fast, slow}, bursts, mem)
	want := []string{
		// near the interpreter's floor: hit, hit-browser (over trivial and bare), anon (0.92: MISS), anon-browser, revalidating;
		// at 20 ms hit, revalidating (0.92: MISS); p50; p99 beside hit's
		"PASS", "PASS", "PASS", "MISS", "PASS", "PASS", "PASS", "MISS", "PASS", "info",
		// against other proxies: over bare, p50, over forwardauth, p99 < forwardauth's p50, over nginx, burst, memory (heap 1100 B)
		"PASS", "PASS", "PASS", "PASS", "PASS", "PASS", "MISS",
	}
	if len(v) != len(want) {
		t.Fatalf("%d verdicts, want %d: %+v", len(v), len(want), v)
	}
	for i := range want {
		if v[i].status != want[i] {
			t.Errorf("%s: %s (%s), want %s", v[i].target, v[i].status, v[i].measured, want[i])
		}
	}
	for _, x := range evaluate(nil, nil, nil) {
		if x.status != "n/a" {
			t.Errorf("nothing measured: %+v", x)
		}
	}
}

func TestMarkdown(t *testing.T) {
	fast := fakePhase(0, map[string][3]float64{"traefik-bare": {10000, 1000, 3000}, "plugin-hit": {9500, 1050, 3100}})
	r := &report{opts: options{threads: 2, connections: 32, duration: 10 * time.Second, reps: 3, warmup: time.Second},
		phases: []*phase{fast}, machine: "CPU × 2 cores", commit: "abc1234 (hot path: fewer slots)"}
	md := r.markdown()
	for _, want := range []string{
		"## Resolver answering at once (0 ms)",
		"| plugin-hit | 9,500 | 1.05 ms | 3.10 ms | 0 | 0.95 | 10 µs | 0 |",
		"commit abc1234 (hot path: fewer slots). CPU × 2 cores.",
		"| against other proxies | plugin-hit ≥ 0.90 × traefik-bare throughput (0 ms) | 0.95 × per round (0.95–0.95; medians 9,500 vs 10,000 req/s) | PASS |",
		"| near the interpreter's floor | plugin-hit ≥ 0.95 × trivial-plugin throughput (0 ms) | not measured | n/a |",
		"plugin-hit +0 µs",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("report lacks %q:\n%s", want, md)
		}
	}
	if regexp.MustCompile(`(?i)issues? \d|\| #\d`).MatchString(md) {
		t.Errorf("the report names tracker issues instead of what the targets are for:\n%s", md)
	}
}

func TestFormats(t *testing.T) {
	for _, c := range []struct{ got, want string }{
		{fmtInt(1234567.4), "1,234,567"}, {fmtInt(999), "999"}, {fmtInt(-1234), "-1,234"},
		{fmtMS(412), "0.412 ms"}, {fmtMS(21400), "21.4 ms"}, {fmtMS(120000), "120 ms"},
		{fmtNs(812), "812 ns"}, {fmtNs(24300), "24.3 µs"},
		{fmtLatency(20 * time.Millisecond), "20 ms"}, {fmtLatency(0), "0 ms"},
		{fmtCalls(0), "0"}, {fmtCalls(0.00021), "0.0002"}, {fmtCalls(0.00001), "<0.0001"}, {fmtCalls(1.004), "1.00"},
		{fmtBytes(1010), "1010 B"}, {fmtBytes(3 << 20), "3.0 MiB"},
		{fmtElapsed(725 * time.Second), "12 min 5 s"},
	} {
		if c.got != c.want {
			t.Errorf("got %q, want %q", c.got, c.want)
		}
	}
}

// runs returns one-second samples (p50 1e6/rps µs, p99 twice that, one error each).
func runs(calls int64, cpu time.Duration, rps ...float64) []sample {
	var ss []sample
	for _, x := range rps {
		ss = append(ss, sample{res: wrkResult{Requests: int64(x), DurationUS: 1e6, P50US: 1e6 / x, P99US: 2e6 / x, Errors: 1}, calls: calls, cpu: cpu})
	}
	return ss
}

func TestSummarizeAndRatios(t *testing.T) {
	if m, m2, none := median([]float64{3, 1, 2}), median([]float64{4, 1, 3, 2}), median(nil); m != 2 || m2 != 2.5 || !math.IsNaN(none) {
		t.Errorf("medians %v, %v, %v; want 2, 2.5, NaN", m, m2, none)
	}
	bare := summarize(runs(0, 50*time.Millisecond, 1000, 4000, 2000))
	if bare.rps != 2000 || bare.p50US != 500 || bare.p99US != 1000 || bare.errors != 3 || bare.cpuPerRequestUS != 150000.0/7000 {
		t.Errorf("bare = %+v", bare)
	}
	hit := summarize(runs(1, 0, 500, 1000, 4000))
	if hit.callsPerRequest != 3.0/5500 {
		t.Errorf("calls per request = %v, want 3/5500", hit.callsPerRequest)
	}
	// Per round: 0.5, 0.25, 2.
	if med, lo, hi := pairedRatio(hit, bare, figRPS); med != 0.5 || lo != 0.25 || hi != 2 {
		t.Errorf("paired throughput ratio = %v (%v–%v), want 0.5 (0.25–2)", med, lo, hi)
	}
	if med, _, _ := pairedRatio(hit, bare, figP50); med != 2 {
		t.Errorf("paired p50 ratio = %v, want 2", med)
	}
	nginxOnly := summarize(runs(500, 0, 500))
	rows := map[string]*rowResult{"traefik-bare": bare, "plugin-hit": hit, "nginx-auth": nginxOnly}
	setRatios(rows)
	if bare.ratio != 1 || hit.ratio != 0.5 || !math.IsNaN(nginxOnly.ratio) {
		t.Errorf("ratios: bare %v, hit %v, nginx-auth without nginx-bare %v (want NaN)", bare.ratio, hit.ratio, nginxOnly.ratio)
	}
	if med, _, _ := pairedRatio(nginxOnly, bare, figRPS); !math.IsNaN(med) {
		t.Errorf("rows of different rounds: ratio %v, want NaN", med)
	}
}

func TestRows(t *testing.T) {
	first, second := roundOrder(0), roundOrder(1)
	slices.Reverse(second)
	if !slices.Equal(first, second) {
		t.Errorf("round 1 is not round 0 reversed: %v", second)
	}
	// Traefik and nginx rows alternate while both last.
	for i, name := range first[:6] {
		if specOf(name).nginx != (i%2 == 1) {
			t.Errorf("position %d is %s, want Traefik and nginx rows alternating", i, name)
		}
	}
	sorted := slices.Sorted(slices.Values(first))
	for _, s := range rowSpecs {
		if _, found := slices.BinarySearch(sorted, s.name); !found {
			t.Errorf("row %s is not in runOrder", s.name)
		}
		if bare := specOf(s.bareRow()); bare.expect != noAuth || bare.nginx != s.nginx {
			t.Errorf("%s: bare row %s is no bare row of its proxy", s.name, bare.name)
		}
	}
	if len(first) != len(rowSpecs) || len(slices.Compact(sorted)) != len(sorted) {
		t.Errorf("runOrder %v: want every row once", first)
	}
	for _, p := range pairTargets {
		if specOf(p.a).name != p.a || specOf(p.b).name != p.b {
			t.Errorf("target %s vs %s: no such row", p.a, p.b)
		}
	}
}

func TestParseGoBench(t *testing.T) {
	got := parseGoBench(`goos: linux
BenchmarkServeHTTPCacheHit-2      	   20000	      3230 ns/op	    2752 B/op	      12 allocs/op
BenchmarkStripIdentityHeaders-16  	   20000	       116.0 ns/op	       0 B/op	       0 allocs/op
BenchmarkNoMem	 1000	 50 ns/op
BenchmarkX-y/sub-2	 1000	 60 ns/op
BenchmarkServeHTTPCacheHit-2      	   20000	      3000 ns/op	    2752 B/op	      11 allocs/op
BenchmarkNotAResult-2 	 ns/op
PASS
`)
	want := []benchLine{{"BenchmarkServeHTTPCacheHit", 3000, 11}, {"BenchmarkStripIdentityHeaders", 116, 0}, {"BenchmarkNoMem", 50, 0}, {"BenchmarkX-y/sub", 60, 0}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("parseGoBench = %+v, want %+v (a name seen twice keeps its last line, -GOMAXPROCS suffixes dropped)", got, want)
	}
}

func TestParseOptions(t *testing.T) {
	o, err := parseOptions(nil, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	want := options{duration: 10 * time.Second, warmup: time.Second, connections: 32, threads: 2, reps: 3, burst: 200, sessions: 100000,
		latencies: []time.Duration{0, 20 * time.Millisecond}}
	if !reflect.DeepEqual(o, want) {
		t.Errorf("defaults = %+v, want %+v", o, want)
	}
	o, err = parseOptions([]string{"-quick", "-reps", "2", "-latency", "0,5"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if !o.quick || o.duration != 2*time.Second || o.sessions != 20000 || o.reps != 2 {
		t.Errorf("-quick with -reps 2 = %+v, want quick defaults, and the flag's reps", o)
	}
	if !reflect.DeepEqual(o.latencies, []time.Duration{0, 5 * time.Millisecond}) {
		t.Errorf("latencies = %v (a bare number is milliseconds)", o.latencies)
	}
	for _, args := range [][]string{
		{"-duration", "0s"}, {"-warmup", "-1s"}, {"-reps", "0"}, {"-threads", "4", "-connections", "2"},
		{"-latency", "-5ms"}, {"-latency", ","}, {"stray"},
	} {
		if _, err := parseOptions(args, io.Discard); err == nil {
			t.Errorf("%v: no error", args)
		}
	}
}

func TestParseWrkOutput(t *testing.T) {
	r, err := parseWrkOutput("Running 2s test @ http://127.0.0.1:41234/small\n  23948 requests in 2.02s, 2.95MB read\n" +
		`BENCH-RESULT {"requests":23948,"duration_us":2017748,"p50_us":2370,"p99_us":9620,"errors":4}` + "\n")
	if err != nil || r.Requests != 23948 || r.P50US != 2370 || r.P99US != 9620 || r.Errors != 4 {
		t.Errorf("parsed %+v, %v", r, err)
	}
	if rps := r.RPS(); rps < 11868 || rps > 11870 {
		t.Errorf("RPS() = %f, want about 11868.8", rps)
	}
	for name, out := range map[string]string{
		"no result line": "Running 2s test @ http://x/\n",
		"bad JSON":       "BENCH-RESULT {\"requests\":\n",
		"no requests":    `BENCH-RESULT {"requests":0,"duration_us":2000000}` + "\n",
	} {
		if _, err := parseWrkOutput(out); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
	for d, want := range map[time.Duration]int{10 * time.Second: 10, 500 * time.Millisecond: 1, 2500 * time.Millisecond: 3, 0: 1} {
		if got := wrkSeconds(d); got != want {
			t.Errorf("wrkSeconds(%v) = %d, want %d", d, got, want)
		}
	}
	// The Lua scripts print every field read above.
	if !strings.Contains(reportLua, resultPrefix) || !strings.Contains(reportLua, "function done(") {
		t.Error("lua/report.lua does not print the result line")
	}
	for _, field := range []string{"requests", "duration_us", "p50_us", "p99_us", "errors"} {
		if !strings.Contains(reportLua, `\"`+field+`\":`) {
			t.Errorf("lua/report.lua does not print %s", field)
		}
	}
	if !strings.Contains(freshLua, "function request()") || strings.Contains(reportLua, "function request()") {
		t.Error("only lua/fresh.lua may define request(): wrk sends a static request otherwise, which is faster")
	}
}

func TestStatCPU(t *testing.T) {
	// A command name with spaces and a parenthesis, as nginx workers have.
	cpu, err := statCPU("4242 (nginx: worker (x)) S 4241 4241 4241 0 -1 4194624 100 0 0 0 250 75 0 0 20 0 1 0 123 456 789")
	if err != nil || cpu != 325*clockTick {
		t.Errorf("statCPU = %v, %v; want %v", cpu, err, 325*clockTick)
	}
	if _, err := statCPU("4242 (x) S 1 2"); err == nil {
		t.Error("short line: no error")
	}
	before := cpuTimes{1: 100 * time.Millisecond, 2: 50 * time.Millisecond, 3: time.Second}
	after := cpuTimes{1: 300 * time.Millisecond, 2: 50 * time.Millisecond, 4: 20 * time.Millisecond}
	if got := after.since(before); got != 220*time.Millisecond {
		t.Errorf("since = %v, want 220ms (process 3 gone, process 4 new)", got)
	}
}

func TestTreeCPU(t *testing.T) {
	child := exec.Command("sleep", "10")
	if err := child.Start(); err != nil {
		t.Fatal(err)
	}
	defer child.Process.Kill()
	c, err := treeCPU(os.Getpid())
	own, ok := c[os.Getpid()]
	if _, childOK := c[child.Process.Pid]; err != nil || !ok || !childOK || own < 0 || own > time.Hour {
		t.Errorf("treeCPU = %v, %v; want this process's CPU time, and its child %d's", c, err, child.Process.Pid)
	}
	if _, err := treeCPU(1 << 30); err == nil {
		t.Error("missing process: no error")
	}
}

// TestReadRuntimeStats checks that the live heap is read after two forced GCs.
func TestReadRuntimeStats(t *testing.T) {
	gcs, vars := 0, `{"Goroutines2": 42, "memstats": {"HeapAlloc": 123456, "Sys": 9}}`
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.String() {
		case "/debug/pprof/heap?gc=1":
			gcs++
		case "/debug/vars":
			if gcs != 2 {
				t.Errorf("/debug/vars read after %d forced GCs, want 2", gcs)
			}
			w.Write([]byte(vars))
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	addr := strings.TrimPrefix(srv.URL, "http://")
	rt, err := harness.ReadRuntimeStats(context.Background(), addr)
	if err != nil || rt != (harness.RuntimeStats{HeapAlloc: 123456, Goroutines: 42}) {
		t.Errorf("ReadRuntimeStats = %+v, %v", rt, err)
	}
	gcs, vars = 0, `{"cmdline": []}`
	if _, err := harness.ReadRuntimeStats(context.Background(), addr); err == nil {
		t.Error("no memstats: no error")
	}
	m := memResult{sessions: 10, before: memSnapshot{100, 50}, after: memSnapshot{10100, 5050}}
	if rss, heap := m.perEntry(); rss != 1000 || heap != 500 {
		t.Errorf("perEntry = %v, %v; want 1000, 500", rss, heap)
	}
}

func TestTraefikOptions(t *testing.T) {
	opts := traefikOptions("http://127.0.0.1:5/_resolver/resolve", "http://127.0.0.1:4", "/src/trivial")
	routed := map[string]bool{} // entrypoints
	for _, o := range opts {
		dynamic := (&stack.Stack{}).Dynamic(o.Middlewares, o.Routes)
		for _, r := range o.Routes {
			if len(r.EntryPoints) != 1 || routed[r.EntryPoints[0]] {
				t.Errorf("entrypoints %v: want one, routed once", r.EntryPoints)
			}
			routed[r.EntryPoints[0]] = true
			for _, mw := range r.Middlewares {
				if !strings.Contains(dynamic, "\n        "+mw+":\n") {
					t.Errorf("entrypoint %v: middleware %s is not defined beside it:\n%s", r.EntryPoints, mw, dynamic)
				}
			}
		}
		if o.ResolverURL == "" || o.BackendURL != "http://127.0.0.1:4" {
			t.Errorf("stack options %+v", o)
		}
	}
	for _, s := range rowSpecs {
		if !routed[s.ep] && !s.nginx {
			t.Errorf("row %s: no route on entrypoint %s", s.name, s.ep)
		}
	}
	if !opts[0].Traefik.NoPlugin || opts[0].Routes[0].Middlewares != nil || opts[1].Traefik.ExtraPlugins["trivial"] != "/src/trivial" {
		t.Errorf("want a bare Traefik with a route without middleware, and one with the plugins: %+v", opts)
	}
	dynamic := (&stack.Stack{}).Dynamic(opts[1].Middlewares, opts[1].Routes)
	for _, want := range []string{"trivial: {}", `cacheTTL: "0"`, "staleWhileRevalidate: 5m", "- reval\n"} {
		if !strings.Contains(dynamic, want) {
			t.Errorf("plugin Traefik's dynamic configuration lacks %q:\n%s", want, dynamic)
		}
	}
	if fa := opts[0].Middlewares[0].Body["forwardAuth"].(map[string]any); fa["address"] != "http://127.0.0.1:5/_resolver/resolve" {
		t.Errorf("forwardauth = %v", fa)
	}
}

func TestNginxConfig(t *testing.T) {
	c := nginxSettings{
		dir: "/tmp/x", workers: 2, user: "nobody nogroup",
		bareAddr: "127.0.0.1:1", authAddr: "127.0.0.1:2", authCacheAddr: "127.0.0.1:3",
		backendAddr: "127.0.0.1:4", resolverAddr: "127.0.0.1:5", resolverHost: "auth.example.test",
	}.config()
	for _, want := range []string{
		"user nobody nogroup;\n", "worker_processes 2;\n", "pid /tmp/x/nginx.pid;\n", "listen 127.0.0.1:1;", "keepalive 64;",
		"auth_request_set $x_authgear_user_id $upstream_http_x_authgear_user_id;",
		"proxy_set_header x-authgear-user-id $x_authgear_user_id;",
		"proxy_set_header Host auth.example.test;", "proxy_cache_key \"" + nginxCacheKey + "\";", "proxy_cache_lock on;",
	} {
		if !strings.Contains(c, want) {
			t.Errorf("nginx.conf lacks %q:\n%s", want, c)
		}
	}
	for text, n := range map[string]int{"proxy_cache authgear;": 1, "auth_request /_auth;": 2, "proxy_pass ": 5, "proxy_set_header Connection \"\";": 5} {
		if got := strings.Count(c, text); got != n {
			t.Errorf("%q %d times, want %d", text, got, n)
		}
	}
	if strings.Count(c, "{") != strings.Count(c, "}") {
		t.Errorf("unbalanced braces:\n%s", c)
	}
}
