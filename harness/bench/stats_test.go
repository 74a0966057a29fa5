package main

import (
	"math"
	"testing"
	"time"
)

func TestMedian(t *testing.T) {
	if got := median([]float64{3, 1, 2}); got != 2 {
		t.Errorf("median of 3 = %v", got)
	}
	if got := median([]float64{4, 1, 3, 2}); got != 2.5 {
		t.Errorf("median of 4 = %v", got)
	}
	if got := median(nil); !math.IsNaN(got) {
		t.Errorf("median of none = %v", got)
	}
}

func TestSummarizeAndRatios(t *testing.T) {
	run := func(requests int64, p50 float64, calls int64, cpu time.Duration) sample {
		return sample{res: wrkResult{Requests: requests, DurationUS: 1e6, P50US: p50, P99US: 2 * p50, StatusErrors: 1}, calls: calls, cpu: cpu}
	}
	bare := summarize(rowTraefikBare, []sample{run(1000, 10, 0, 50*time.Millisecond), run(3000, 30, 0, 50*time.Millisecond), run(2000, 20, 0, 50*time.Millisecond)})
	hit := summarize(rowPluginHit, []sample{run(1000, 10, 1, 0), run(1000, 10, 0, 0)})
	if bare.rps != 2000 || bare.p50US != 20 || bare.p99US != 40 || bare.errors != 3 || bare.requests != 6000 {
		t.Errorf("bare = %+v", bare)
	}
	if bare.cpuPerRequestUS != 25 {
		t.Errorf("bare CPU per request = %v µs, want 25", bare.cpuPerRequestUS)
	}
	if hit.callsPerRequest != 0.0005 {
		t.Errorf("calls per request = %v, want 0.0005", hit.callsPerRequest)
	}
	rows := map[string]*rowResult{rowTraefikBare: &bare, rowPluginHit: &hit}
	nginxOnly := summarize(rowNginxAuth, []sample{run(500, 1, 500, 0)})
	rows[rowNginxAuth] = &nginxOnly
	setRatios(rows)
	if bare.ratio != 1 || hit.ratio != 0.5 {
		t.Errorf("ratios: bare %v, hit %v", bare.ratio, hit.ratio)
	}
	if !math.IsNaN(nginxOnly.ratio) {
		t.Errorf("nginx-auth without nginx-bare has ratio %v, want NaN", nginxOnly.ratio)
	}
}

func TestPairedRatio(t *testing.T) {
	rows := func(rps ...float64) *rowResult {
		var ss []sample
		for _, x := range rps {
			ss = append(ss, sample{res: wrkResult{Requests: int64(x), DurationUS: 1e6, P50US: 1e6 / x}})
		}
		r := summarize("x", ss)
		return &r
	}
	a, b := rows(1000, 3000, 2000), rows(2000, 3000, 8000)
	if got := pairedRatio(a, b, figRPS); got != 0.5 {
		t.Errorf("paired throughput ratio = %v, want 0.5 (median of 0.5, 1, 0.25)", got)
	}
	if got := pairedRatio(a, b, figP50); got != 2 {
		t.Errorf("paired p50 ratio = %v, want 2", got)
	}
	if got := pairedRatio(rows(1000), b, figRPS); got != 1000.0/3000 {
		t.Errorf("unpaired ratio = %v, want the ratio of medians", got)
	}
}
