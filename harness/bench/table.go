package main

import (
	"context"
	"fmt"
	"io"
	"time"
)

// phase is the table at one resolver latency.
type phase struct {
	latency time.Duration
	rows    map[string]*rowResult
}

// pauseBetweenRuns lets connections close, resolver calls still under way
// finish (the plugin does not cancel them when the client goes away), and
// the proxies settle, so that no run is charged for the one before.
const pauseBetweenRuns = 500 * time.Millisecond

// measurePhase sets the resolver's latency, warms every row up once (round
// -1, untimed), then runs o.reps rounds, the rows interleaved and every
// other round in reverse order.
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
