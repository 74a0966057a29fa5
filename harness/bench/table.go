package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
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

// sleep waits for d or until ctx is done.
func sleep(ctx context.Context, d time.Duration) error {
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(d):
		return nil
	}
}

// loadOf returns what a row's requests carry.
func loadOf(spec rowSpec) load {
	l := load{browser: spec.browser}
	switch {
	case spec.fresh:
		l.fresh = true
	case spec.credential:
		l.cookie = "session=" + benchSession
	}
	return l
}

// measurePhase sets the resolver's latency, warms every selected row up
// once, then runs opts.reps rounds, the rows interleaved and every other
// round in reverse order.
func measurePhase(ctx context.Context, st *stack, w *wrkRunner, o options, latency time.Duration, selected map[string]bool, log io.Writer) (*phase, error) {
	if err := st.ctl.setLatency(ctx, latency); err != nil {
		return nil, err
	}
	tag := fmt.Sprintf("[resolver +%s]", fmtLatency(latency))
	if o.warmup > 0 {
		for _, name := range roundOrder(0, selected) {
			spec, _ := specOf(name)
			fmt.Fprintf(log, "%s warm-up %s\n", tag, name)
			if _, err := w.run(ctx, st.targets[name].base+"/small", o.warmup, loadOf(spec)); err != nil {
				return nil, err
			}
			if err := sleep(ctx, pauseBetweenRuns); err != nil {
				return nil, err
			}
		}
	}
	samples := map[string][]sample{}
	for r := 0; r < o.reps; r++ {
		for _, name := range roundOrder(r, selected) {
			profile := ""
			if o.profile != "" && r == 0 && latency == 0 && st.targets[name].admin != "" {
				profile = filepath.Join(o.profile, name+".pprof")
			}
			s, err := timedRun(ctx, st, w, o, name, profile)
			if err != nil {
				return nil, err
			}
			samples[name] = append(samples[name], s)
			fmt.Fprintf(log, "%s round %d/%d %-16s %9s req/s  p50 %8s  p99 %8s  calls/req %s  errors %d\n",
				tag, r+1, o.reps, name, fmtRPS(s.res.RPS()), fmtUS(s.res.P50US), fmtUS(s.res.P99US),
				fmtCalls(float64(s.calls)/float64(s.res.Requests)), s.res.Errors())
			if err := sleep(ctx, pauseBetweenRuns); err != nil {
				return nil, err
			}
		}
	}
	p := &phase{latency: latency, rows: map[string]*rowResult{}}
	for name, ss := range samples {
		r := summarize(name, ss)
		p.rows[name] = &r
	}
	setRatios(p.rows)
	return p, nil
}

// timedRun runs wrk against one row and records the resolver calls and the
// proxy's CPU time it cost. With a profile path, Traefik's CPU profile of
// the run is written there.
func timedRun(ctx context.Context, st *stack, w *wrkRunner, o options, name, profile string) (sample, error) {
	spec, _ := specOf(name)
	t := st.targets[name]
	calls0, err := st.ctl.calls(ctx)
	if err != nil {
		return sample{}, err
	}
	cpu0, err := t.cpu()
	if err != nil {
		return sample{}, err
	}
	var profErr chan error
	if profile != "" {
		profErr = make(chan error, 1)
		go func() { profErr <- cpuProfile(ctx, t.admin, o.duration, profile) }()
	}
	res, err := w.run(ctx, t.base+"/small", o.duration, loadOf(spec))
	if profErr != nil {
		if perr := <-profErr; perr != nil && err == nil {
			err = perr
		}
	}
	if err != nil {
		return sample{}, fmt.Errorf("row %s: %w", name, err)
	}
	cpu1, err := t.cpu()
	if err != nil {
		return sample{}, err
	}
	calls1, err := st.ctl.calls(ctx)
	if err != nil {
		return sample{}, err
	}
	return sample{res: res, calls: calls1 - calls0, cpu: cpu1.since(cpu0)}, nil
}

// cpuProfile fetches a CPU profile from Traefik's pprof endpoint covering
// most of a run of length d (it starts with the run and ends a little before
// it), and writes it to path.
func cpuProfile(ctx context.Context, admin string, d time.Duration, path string) error {
	secs := int(d/time.Second) - 1
	if secs < 1 {
		secs = 1
	}
	url := admin + "/debug/pprof/profile?seconds=" + strconv.Itoa(secs)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := (&http.Client{Timeout: time.Duration(secs+30) * time.Second}).Do(req)
	if err != nil {
		return fmt.Errorf("CPU profile: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("CPU profile: GET %s: %s", url, resp.Status)
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, resp.Body); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
