package main

import (
	"math"
	"sort"
	"time"
)

// sample is one timed run of one row.
type sample struct {
	res   wrkResult
	calls int64         // resolver calls during the run
	cpu   time.Duration // the proxy's CPU time during the run
}

// rowResult sums up the runs of one row at one resolver latency.
type rowResult struct {
	name    string
	samples []sample
	rps     float64 // median
	p50US   float64 // median of the runs' p50
	p99US   float64 // median of the runs' p99
	// callsPerRequest is all the runs' resolver calls over all their requests.
	callsPerRequest float64
	// cpuPerRequest is the proxy's CPU time over all the runs' requests, in
	// microseconds.
	cpuPerRequestUS float64
	errors          int64   // failed requests in all runs
	requests        int64   // requests in all runs
	ratio           float64 // rps over the own bare proxy's rps; NaN when unknown
}

// summarize computes a row's medians and totals from its samples.
func summarize(name string, samples []sample) rowResult {
	r := rowResult{name: name, samples: samples, ratio: math.NaN()}
	var rps, p50, p99 []float64
	var calls int64
	var cpu time.Duration
	for _, s := range samples {
		rps = append(rps, s.res.RPS())
		p50 = append(p50, s.res.P50US)
		p99 = append(p99, s.res.P99US)
		calls += s.calls
		cpu += s.cpu
		r.requests += s.res.Requests
		r.errors += s.res.Errors()
	}
	r.rps, r.p50US, r.p99US = median(rps), median(p50), median(p99)
	if r.requests > 0 {
		r.callsPerRequest = float64(calls) / float64(r.requests)
		r.cpuPerRequestUS = float64(cpu.Microseconds()) / float64(r.requests)
	}
	return r
}

// setRatios fills in each row's throughput ratio to its own proxy's bare row.
func setRatios(rows map[string]*rowResult) {
	for name, r := range rows {
		spec, _ := specOf(name)
		if bare := rows[bareRow(spec.proxy)]; bare != nil {
			r.ratio = pairedRatio(r, bare, figRPS)
		}
	}
}

// figure is one measured figure: its value in one run and its median over
// a row's runs.
type figure struct {
	run    func(sample) float64
	median func(*rowResult) float64
}

var (
	figRPS = figure{func(s sample) float64 { return s.res.RPS() }, func(r *rowResult) float64 { return r.rps }}
	figP50 = figure{func(s sample) float64 { return s.res.P50US }, func(r *rowResult) float64 { return r.p50US }}
)

// pairedRatio compares a figure of two rows run in the same rounds: the
// median over the rounds of a's figure over b's in that round, which cancels
// a drift of the machine's load better than a ratio of medians. Rows with
// different round counts fall back to the ratio of their medians.
func pairedRatio(a, b *rowResult, f figure) float64 {
	if len(a.samples) == 0 || len(a.samples) != len(b.samples) {
		am, bm := f.median(a), f.median(b)
		if bm == 0 || math.IsNaN(am) || math.IsNaN(bm) {
			return math.NaN()
		}
		return am / bm
	}
	var ratios []float64
	for i := range a.samples {
		if d := f.run(b.samples[i]); d > 0 {
			ratios = append(ratios, f.run(a.samples[i])/d)
		}
	}
	return median(ratios)
}

// ratioSpread is pairedRatio with the spread of the per-round ratios.
func ratioSpread(a, b *rowResult, f figure) (med, lo, hi float64) {
	med = pairedRatio(a, b, f)
	lo, hi = med, med
	if len(a.samples) == len(b.samples) {
		for i := range a.samples {
			if d := f.run(b.samples[i]); d > 0 {
				r := f.run(a.samples[i]) / d
				lo, hi = math.Min(lo, r), math.Max(hi, r)
			}
		}
	}
	return med, lo, hi
}

// median returns the median of xs (the mean of the middle two for an even
// count), NaN for none.
func median(xs []float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	m := len(s) / 2
	if len(s)%2 == 1 {
		return s[m]
	}
	return (s[m-1] + s[m]) / 2
}
