package main

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
)

// report is everything the Markdown document shows.
type report struct {
	started            time.Time
	elapsed            time.Duration
	machine            string // describeMachine
	commit             string // the git commit measured (harness.Commit)
	opts               options
	loadStart, loadEnd string
	phases             []*phase
	bursts             []burstResult
	mem                *memResult
	assertion          *assertionResult // the signed identity's costs
	micro              *microResult
}

func (r *report) markdown() string {
	var b strings.Builder
	o := r.opts
	fmt.Fprintf(&b, "# traefik-authgear benchmark\n\n%s, %s, commit %s. %s. Load average (1 min) at start %s, at end %s.",
		r.started.UTC().Format("2006-01-02 15:04 UTC"), fmtElapsed(r.elapsed), r.commit, r.machine, r.loadStart, r.loadEnd)
	if o.quick {
		b.WriteString(" **Quick mode: short runs, one repetition; for development, not for comparison.**")
	}
	b.WriteString("\n\n")
	if len(r.phases) > 0 {
		fmt.Fprintf(&b, "Every row: `wrk -t%d -c%d`, %s per run, %d run(s) per row (median shown), %s untimed warm-up per row; rows interleaved (Traefik and nginx alternating, every other round reversed). Each request is `GET /small` (a 2-byte answer from the echo backend) with `Cookie: session=<one user's session>` (plugin-anon: no cookie; plugin-miss: a new cookie per request). All on loopback: wrk, the proxy, the echo backend and the stand-in resolver (separate processes) share the cores. *Calls/request* counts the stand-in's resolve requests; *ratio* is throughput over the same proxy's bare row (the median of the per-round ratios, as are the ratios in the targets); *proxy CPU/request* is the proxy processes' user+system CPU time per request.\n\n",
			o.threads, o.connections, o.duration, o.reps, o.warmup)
		for _, p := range r.phases {
			writePhase(&b, p)
		}
		b.WriteString("Rows:\n\n")
		for _, s := range rowSpecs {
			fmt.Fprintf(&b, "- **%s**: %s\n", s.name, s.what)
		}
		b.WriteString("\n")
	}
	if len(r.bursts) > 0 {
		fmt.Fprintf(&b, "## Burst: %d concurrent requests with one new credential\n\nConnections opened first, then all requests released at once; the credential is a session no proxy has seen.\n\n", r.bursts[0].requests)
		var rows [][]string
		for _, x := range r.bursts {
			label := map[string]string{"plugin-hit": "plugin (cache on)", "nginx-auth-cache": "nginx-auth-cache (`proxy_cache_lock on`)"}[x.row]
			rows = append(rows, []string{label, fmtLatency(x.latency), fmt.Sprint(x.calls), fmt.Sprintf("%d / %d", x.ok, x.requests)})
		}
		writeTable(&b, true, []string{"proxy", "resolver latency", "resolver calls", "answered with the identity"}, rows)
	}
	if m := r.mem; m != nil {
		rss, heap := m.perEntry()
		fmt.Fprintf(&b, "## Memory per cached session\n\nA Traefik of its own with the plugin (`cacheMaxEntries: %d`, `cacheTTL: 1h`), warmed up with %s distinct sessions, then %s more distinct sessions (each a user of its own, full identity answer: 8 `x-authgear-*` headers), resolved and cached in %s. Each reading follows two GCs forced through Traefik's debug API, once the RSS has stopped falling (at most %s). The live heap is what the cache holds; the RSS also holds the Go runtime's headroom (with the default `GOGC=100` the heap may grow to twice the live heap before a collection) and freed memory not yet returned to the system.\n\n",
			m.maxEntries, fmtInt(memWarm), fmtInt(float64(m.sessions)), fmtElapsed(m.fill), memSettleMax)
		writeTable(&b, true, []string{"", "RSS", "live heap after GC"}, [][]string{
			{"empty cache (after warm-up)", fmtBytes(float64(m.before.rss)), fmtBytes(float64(m.before.heap))},
			{fmtInt(float64(m.sessions)) + " sessions cached", fmtBytes(float64(m.after.rss)), fmtBytes(float64(m.after.heap))},
			{"**per session**", "**" + fmtBytes(rss) + "**", "**" + fmtBytes(heap) + "**"},
		})
	}
	if r.assertion != nil {
		writeAssertion(&b, r)
	}
	if r.micro != nil {
		writeMicro(&b, r.micro)
	}
	b.WriteString("## Targets\n\n")
	var rows [][]string
	for _, v := range evaluate(r.phases, r.bursts, r.mem) {
		rows = append(rows, []string{string(v.goal), v.target, v.measured, v.status})
	}
	writeTable(&b, false, []string{"goal", "target", "measured", ""}, rows)
	b.WriteString("Reproduce: `make bench` (`go run ./bench -h` lists the flags).\n")
	return b.String()
}

// writePhase writes the table at one resolver latency.
func writePhase(b *strings.Builder, p *phase) {
	if p.latency == 0 {
		b.WriteString("## Resolver answering at once (0 ms)\n\n")
	} else {
		fmt.Fprintf(b, "## Resolver with %s added latency\n\n", fmtLatency(p.latency))
	}
	var rows [][]string
	for _, s := range rowSpecs {
		if x := p.rows[s.name]; x != nil {
			rows = append(rows, []string{s.name, fmtInt(x.rps), fmtMS(x.p50US), fmtMS(x.p99US),
				fmtCalls(x.callsPerRequest), fmtRatio(x.ratio), fmtCPU(x.cpuPerRequestUS), fmt.Sprint(x.errors)})
		}
	}
	writeTable(b, true, []string{"row", "requests/s", "p50", "p99", "resolver calls/request", "ratio to own bare", "proxy CPU/request", "errors"}, rows)
	// What each kind of auth adds to its bare proxy's CPU time per request:
	// steadier than throughput on a machine whose cores everything shares.
	var parts []string
	for _, name := range []string{"plugin-hit", "plugin-hit-assertion", "plugin-anon", "forwardauth", "nginx-auth-cache", "nginx-auth"} {
		x, bare := p.rows[name], p.rows[specOf(name).bareRow()]
		if x != nil && bare != nil && x.cpuPerRequestUS != 0 && bare.cpuPerRequestUS != 0 {
			parts = append(parts, fmt.Sprintf("%s %+.0f µs", name, x.cpuPerRequestUS-bare.cpuPerRequestUS))
		}
	}
	if len(parts) > 0 {
		fmt.Fprintf(b, "Proxy CPU per request over its bare row: %s.\n\n", strings.Join(parts, ", "))
	}
}

// writeMicro writes the compiled vs Yaegi table.
func writeMicro(b *strings.Builder, m *microResult) {
	fmt.Fprintf(b, "## Per-request path: compiled vs Yaegi\n\n`go test -bench . -benchmem` of the plugin package (bench_test.go) compiled, and the same under Yaegi v0.16.1 (`tools/yaegi-test.sh -bench . -benchmem -benchtime %s`), the interpreter Traefik runs the plugin in. The two ServeHTTP benchmarks include one `Header.Clone` per iteration (the HeaderClone row) to give every iteration fresh headers.\n\n", yaegiBenchtime)
	if m.err != nil {
		fmt.Fprintf(b, "**Not run:** %v\n\n", m.err)
	}
	var rows [][]string
	for _, c := range m.compiled {
		row := []string{strings.TrimPrefix(c.name, "Benchmark"), fmtNs(c.nsPerOp), fmt.Sprintf("%.0f", c.allocsPerOp), "n/a", "n/a", "n/a"}
		if i := slices.IndexFunc(m.yaegi, func(y benchLine) bool { return y.name == c.name }); i >= 0 {
			y := m.yaegi[i]
			row[3], row[4] = fmtNs(y.nsPerOp), fmt.Sprintf("%.0f", y.allocsPerOp)
			if c.nsPerOp > 0 {
				row[5] = fmt.Sprintf("%.1f ×", y.nsPerOp/c.nsPerOp)
			}
		}
		rows = append(rows, row)
	}
	if len(rows) > 0 {
		writeTable(b, true, []string{"benchmark", "compiled", "allocs/op", "Yaegi", "allocs/op", "Yaegi / compiled"}, rows)
	}
}

// fmtInt renders a whole number with thousands separators: "12,345".
func fmtInt(x float64) string {
	s := strconv.FormatInt(int64(math.Round(x)), 10)
	for i := len(s) - 3; i > 0 && s[i-1] != '-'; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

// fmtScaled renders x with three digits in the first of units (each 1000
// times the one before) that keeps it under 1000: "812 ns", "24.3 µs".
func fmtScaled(x float64, units ...string) string {
	for len(units) > 1 && math.Abs(x) >= 1000 {
		x, units = x/1000, units[1:]
	}
	decimals := 0
	switch a := math.Abs(x); {
	case a < 1:
		decimals = 3
	case a < 10:
		decimals = 2
	case a < 100:
		decimals = 1
	}
	return strconv.FormatFloat(x, 'f', decimals, 64) + " " + units[0]
}

// fmtMS renders microseconds as milliseconds: "0.412 ms", "21.4 ms".
func fmtMS(us float64) string { return fmtScaled(us/1000, "ms") }

// fmtNs renders nanoseconds per operation: "812 ns", "24.3 µs".
func fmtNs(ns float64) string { return fmtScaled(ns, "ns", "µs", "ms") }

// fmtCPU renders CPU microseconds per request: "120 µs"; n/a when unknown.
func fmtCPU(us float64) string {
	if us == 0 {
		return "n/a"
	}
	return fmt.Sprintf("%.0f µs", us)
}

// fmtLatency renders a resolver latency: "0 ms", "20 ms".
func fmtLatency(d time.Duration) string {
	return strconv.FormatFloat(float64(d)/float64(time.Millisecond), 'f', -1, 64) + " ms"
}

// fmtCalls renders calls per request: "0", "<0.0001", "0.0002", "1.00".
func fmtCalls(x float64) string {
	switch {
	case x == 0:
		return "0"
	case x < 0.0001:
		return "<0.0001"
	case x < 0.01:
		return fmt.Sprintf("%.4f", x)
	}
	return fmt.Sprintf("%.2f", x)
}

// fmtRatio renders a throughput ratio: "0.87".
func fmtRatio(x float64) string {
	if math.IsNaN(x) {
		return "n/a"
	}
	return fmt.Sprintf("%.2f", x)
}

// fmtBytes renders bytes (exact up to 10 KiB): "1010 B", "12.5 KiB", "23.4 MiB".
func fmtBytes(b float64) string {
	switch abs := math.Abs(b); {
	case abs < 10*1024:
		return fmt.Sprintf("%.0f B", b)
	case abs < 1024*1024:
		return fmt.Sprintf("%.1f KiB", b/1024)
	}
	return fmt.Sprintf("%.1f MiB", b/(1024*1024))
}

// fmtElapsed renders a run time: "42 s", "12 min 5 s".
func fmtElapsed(d time.Duration) string {
	s := int(d.Round(time.Second) / time.Second)
	if s < 60 {
		return fmt.Sprintf("%d s", s)
	}
	return fmt.Sprintf("%d min %d s", s/60, s%60)
}

// writeTable writes a Markdown table; with right, columns 2+ are right-aligned.
func writeTable(b *strings.Builder, right bool, head []string, rows [][]string) {
	align := "---|"
	if right {
		align = "---:|"
	}
	fmt.Fprintf(b, "| %s |\n|---|%s\n", strings.Join(head, " | "), strings.Repeat(align, len(head)-1))
	for _, r := range rows {
		fmt.Fprintf(b, "| %s |\n", strings.Join(r, " | "))
	}
	b.WriteString("\n")
}
