package main

import (
	"math"
	"slices"
	"strings"
	"testing"
	"time"
)

// fakePhase builds a phase of one round from rps, p50 and p99 per row, with
// 10 µs of CPU per request.
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
		// issue 13: hit, hit-browser (over trivial and bare), anon (0.92: MISS), anon-browser, revalidating;
		// at 20 ms hit, revalidating (0.92: MISS); p50; p99 beside hit's
		"PASS", "PASS", "PASS", "MISS", "PASS", "PASS", "PASS", "MISS", "PASS", "info",
		// issue 4: over bare, p50, over forwardauth, p99 < forwardauth's p50, over nginx, burst, memory (heap 1100 B)
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
		phases: []*phase{fast}, machine: "CPU × 2 cores"}
	md := r.markdown()
	for _, want := range []string{
		"## Resolver answering at once (0 ms)",
		"| plugin-hit | 9,500 | 1.05 ms | 3.10 ms | 0 | 0.95 | 10 µs | 0 |",
		"| #4 | plugin-hit ≥ 0.90 × traefik-bare throughput (0 ms) | 0.95 × per round (0.95–0.95; medians 9,500 vs 10,000 req/s) | PASS |",
		"| #13 | plugin-hit ≥ 0.95 × trivial-plugin throughput (0 ms) | not measured | n/a |",
		"plugin-hit +0 µs",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("report lacks %q:\n%s", want, md)
		}
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

// runs returns one-second samples of the throughputs (p50 1e6/rps µs, p99
// twice that, one error each).
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
