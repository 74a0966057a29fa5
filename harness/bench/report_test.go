package main

import (
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
		rowTraefikBare: {10000, 1000, 3000}, rowPluginHit: {9500, 1050, 3100}, rowForwardAuth: {3000, 3000, 9000},
		rowNginxBare: {30000, 500, 900}, rowNginxAuthCache: {27000, 600, 1000},
		rowTrivial: {9800, 1020, 3000}, rowPluginAnon: {9000, 1100, 3200}, rowPluginReval: {9400, 1060, 3300},
		rowBareBrowser: {9000, 1100, 3300}, rowTrivialBrowser: {8900, 1120, 3300}, rowHitBrowser: {8600, 1150, 3400}, rowAnonBrowser: {8700, 1140, 3300},
	})
	slow := fakePhase(20*time.Millisecond, map[string][3]float64{
		rowPluginHit: {9500, 1050, 3100}, rowForwardAuth: {1400, 22000, 30000}, rowTrivial: {9800, 1020, 3000}, rowPluginReval: {9000, 1100, 3500},
	})
	bursts := []burstResult{{row: rowPluginHit, requests: 200, ok: 200, calls: 1}, {row: rowNginxAuthCache, requests: 200, ok: 200, calls: 3}}
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
	fast := fakePhase(0, map[string][3]float64{rowTraefikBare: {10000, 1000, 3000}, rowPluginHit: {9500, 1050, 3100}})
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
