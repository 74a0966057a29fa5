package main

import (
	"math"
	"testing"
	"time"
)

// runs returns one sample per throughput, each a one-second run with the
// p50 of 1e6/rps µs, p99 twice that, one error, and calls and CPU time as
// given for all.
func runs(calls int64, cpu time.Duration, rps ...float64) []sample {
	var ss []sample
	for _, x := range rps {
		ss = append(ss, sample{res: wrkResult{Requests: int64(x), DurationUS: 1e6, P50US: 1e6 / x, P99US: 2e6 / x, Errors: 1}, calls: calls, cpu: cpu})
	}
	return ss
}

func TestMedian(t *testing.T) {
	for _, c := range []struct {
		xs   []float64
		want float64
	}{{[]float64{3, 1, 2}, 2}, {[]float64{4, 1, 3, 2}, 2.5}} {
		if got := median(c.xs); got != c.want {
			t.Errorf("median(%v) = %v, want %v", c.xs, got, c.want)
		}
	}
	if got := median(nil); !math.IsNaN(got) {
		t.Errorf("median of none = %v", got)
	}
}

func TestSummarizeAndRatios(t *testing.T) {
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
	rows := map[string]*rowResult{rowTraefikBare: bare, rowPluginHit: hit, rowNginxAuth: nginxOnly}
	setRatios(rows)
	if bare.ratio != 1 || hit.ratio != 0.5 || !math.IsNaN(nginxOnly.ratio) {
		t.Errorf("ratios: bare %v, hit %v, nginx-auth without nginx-bare %v (want NaN)", bare.ratio, hit.ratio, nginxOnly.ratio)
	}
	if med, _, _ := pairedRatio(nginxOnly, bare, figRPS); !math.IsNaN(med) {
		t.Errorf("rows of different rounds: ratio %v, want NaN", med)
	}
}
