package main

import (
	"context"
	"fmt"
	"io"
	"math"
	"slices"
	"time"
)

// phase is the table at one resolver latency.
type phase struct {
	latency time.Duration
	rows    map[string]*rowResult
}

// pauseBetweenRuns lets connections close, resolver calls under way finish
// and the proxies settle, so that no run is charged for the one before.
const pauseBetweenRuns = 500 * time.Millisecond

// measurePhase warms every row up at the resolver latency, then runs o.reps
// rounds in roundOrder.
func measurePhase(ctx context.Context, p *proxies, ctl resolverCtl, w *wrkRunner, o options, latency time.Duration, log io.Writer) (*phase, error) {
	if err := ctl.setLatency(ctx, latency); err != nil {
		return nil, err
	}
	samples := map[string][]sample{}
	for r := -1; r < o.reps; r++ {
		if r < 0 && o.warmup == 0 {
			continue
		}
		for _, name := range roundOrder(max(r, 0)) {
			d, tag := o.duration, fmt.Sprintf("[resolver +%s] round %d/%d", fmtLatency(latency), r+1, o.reps)
			if r < 0 {
				d, tag = o.warmup, fmt.Sprintf("[resolver +%s] warm-up", fmtLatency(latency))
			}
			s, err := timedRun(ctx, p, ctl, w, d, specOf(name))
			if err != nil {
				return nil, err
			}
			if r >= 0 {
				samples[name] = append(samples[name], s)
			}
			fmt.Fprintf(log, "%s %-22s %9s req/s  p50 %8s  p99 %8s  calls/req %s  errors %d\n", tag, name, fmtInt(s.res.RPS()),
				fmtMS(s.res.P50US), fmtMS(s.res.P99US), fmtCalls(float64(s.calls)/float64(s.res.Requests)), s.res.Errors)
			select {
			case <-ctx.Done():
				return nil, ctx.Err()
			case <-time.After(pauseBetweenRuns):
			}
		}
	}
	ph := &phase{latency: latency, rows: map[string]*rowResult{}}
	for name, ss := range samples {
		ph.rows[name] = summarize(ss)
	}
	setRatios(ph.rows)
	return ph, nil
}

// timedRun runs wrk against one row for d and records the resolver calls
// and the proxy's CPU time it cost.
func timedRun(ctx context.Context, p *proxies, ctl resolverCtl, w *wrkRunner, d time.Duration, s rowSpec) (sample, error) {
	var res wrkResult
	var cpu time.Duration
	calls, err := ctl.during(ctx, func() error {
		cpu0, err := treeCPU(p.pid[s.ep])
		if err != nil {
			return err
		}
		if res, err = w.run(ctx, p.base[s.ep]+"/small", d, s); err != nil {
			return fmt.Errorf("row %s: %w", s.name, err)
		}
		cpu1, err := treeCPU(p.pid[s.ep])
		cpu = cpu1.since(cpu0)
		return err
	})
	return sample{res: res, calls: calls, cpu: cpu}, err
}

// sample is one timed run of one row.
type sample struct {
	res   wrkResult
	calls int64         // resolver calls during the run
	cpu   time.Duration // the proxy's CPU time during the run
}

// figure is one measured figure of a run.
type figure func(sample) float64

var (
	figRPS figure = func(s sample) float64 { return s.res.RPS() }
	figP50 figure = func(s sample) float64 { return s.res.P50US }
	figP99 figure = func(s sample) float64 { return s.res.P99US }
)

// rowResult sums up the runs of one row at one resolver latency.
type rowResult struct {
	samples                          []sample
	rps, p50US, p99US                float64 // medians over the runs
	callsPerRequest, cpuPerRequestUS float64 // over all the runs' requests; CPU in µs
	errors                           int64   // failed requests in all runs
	ratio                            float64 // rps over the own bare row's, per round (pairedRatio); NaN when unknown
}

// summarize computes a row's medians and totals from its samples.
func summarize(samples []sample) *rowResult {
	r := &rowResult{samples: samples, ratio: math.NaN()}
	var rps, p50, p99 []float64
	var calls, requests int64
	var cpu time.Duration
	for _, s := range samples {
		rps, p50, p99 = append(rps, figRPS(s)), append(p50, figP50(s)), append(p99, figP99(s))
		calls, cpu, requests, r.errors = calls+s.calls, cpu+s.cpu, requests+s.res.Requests, r.errors+s.res.Errors
	}
	r.rps, r.p50US, r.p99US = median(rps), median(p50), median(p99)
	if requests > 0 {
		r.callsPerRequest = float64(calls) / float64(requests)
		r.cpuPerRequestUS = float64(cpu.Microseconds()) / float64(requests)
	}
	return r
}

// setRatios fills in each row's throughput ratio to its own proxy's bare row.
func setRatios(rows map[string]*rowResult) {
	for name, r := range rows {
		if bare := rows[specOf(name).bareRow()]; bare != nil {
			r.ratio, _, _ = pairedRatio(r, bare, figRPS)
		}
	}
}

// pairedRatio returns the median, lowest and highest of a's figure over b's
// per round (a drift of the load cancels out); NaN when rounds do not pair.
func pairedRatio(a, b *rowResult, f figure) (med, lo, hi float64) {
	var ratios []float64
	for i := range a.samples {
		if i < len(b.samples) && f(b.samples[i]) > 0 {
			ratios = append(ratios, f(a.samples[i])/f(b.samples[i]))
		}
	}
	if len(ratios) == 0 || len(a.samples) != len(b.samples) {
		return math.NaN(), math.NaN(), math.NaN()
	}
	return median(ratios), slices.Min(ratios), slices.Max(ratios)
}

// median returns the median of xs (NaN for none).
func median(xs []float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	s := slices.Sorted(slices.Values(xs))
	m := len(s) / 2
	if len(s)%2 == 1 {
		return s[m]
	}
	return (s[m-1] + s[m]) / 2
}
