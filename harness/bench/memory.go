package main

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/traefik-authgear/traefik-authgear/harness/internal/harness"
	"github.com/traefik-authgear/traefik-authgear/harness/internal/stack"
)

// memConcurrency is how many requests at once fill the cache.
const memConcurrency = 64

// RSS is read once it has dropped by less than memSettleStep over
// memSettleQuiet (freed memory goes back gradually), or after memSettleMax.
const (
	memSettleStep  = 1 << 20
	memSettleQuiet = 3 * time.Second
	memSettleMax   = 30 * time.Second
)

// memSnapshot is Traefik's memory at one moment.
type memSnapshot struct {
	rss  int64 // VmRSS, settled
	heap int64 // runtime.MemStats.HeapAlloc after forced GCs
}

// memResult is the memory figure: Traefik's memory with an empty cache and
// with n more sessions cached.
type memResult struct {
	sessions      int
	maxEntries    int
	before, after memSnapshot
	fill          time.Duration // time to resolve and cache the sessions
}

// perEntry returns the RSS and heap growth per cached session.
func (m memResult) perEntry() (rss, heap float64) {
	n := float64(m.sessions)
	return float64(m.after.rss-m.before.rss) / n, float64(m.after.heap-m.before.heap) / n
}

// measureMemory reads a Traefik's memory after memWarm distinct sessions and
// again after n more, each of which must cost one resolver call and stay
// cached.
func measureMemory(ctx context.Context, ctl resolverCtl, backendURL string, n int, log io.Writer) (*memResult, error) {
	res := &memResult{sessions: n, maxEntries: memWarm + n + 1000}
	s, err := stack.Start(ctx, stack.Options{
		Middlewares: []stack.Middleware{{Name: "auth", Options: map[string]any{"cacheTTL": "1h", "cacheMaxEntries": res.maxEntries}}},
		Routes:      []stack.Route{{EntryPoints: []string{"web"}, Middlewares: []string{"auth"}}},
		ResolverURL: ctl.resolveURL(), ResolverHost: stack.PublicHost, BackendURL: backendURL,
		Traefik: harness.Options{ExtraStatic: harness.DebugAPI},
	})
	if err != nil {
		return res, fmt.Errorf("starting Traefik for the memory figure: %w", err)
	}
	defer s.Stop()
	send := func(from, to, step int) func() error {
		return func() error { return sendSessions(ctx, s.Traefik.URL, from, to, step) }
	}
	fmt.Fprintf(log, "[memory] warm-up: %d distinct sessions\n", memWarm)
	if err := send(0, memWarm, 1)(); err != nil {
		return res, err
	}
	if res.before, err = snapshot(ctx, s.Traefik); err != nil {
		return res, err
	}
	fmt.Fprintf(log, "[memory] caching %d distinct sessions\n", n)
	start := time.Now()
	if calls, err := ctl.during(ctx, send(memWarm, memWarm+n, 1)); err != nil || calls != int64(n) {
		return res, fmt.Errorf("memory figure: %d distinct sessions cost %d resolver calls, want one each (%v)", n, calls, err)
	}
	res.fill = time.Since(start)
	// Every session must still be cached: ask again for a spread of them.
	if calls, err := ctl.during(ctx, send(memWarm, memWarm+n, n/100+1)); err != nil || calls != 0 {
		return res, fmt.Errorf("memory figure: sessions asked again cost %d resolver calls (%v): the cache did not keep them all", calls, err)
	}
	res.after, err = snapshot(ctx, s.Traefik)
	return res, err
}

// snapshot reads Traefik's live heap after forced GCs, then waits for its
// RSS to settle and reads it.
func snapshot(ctx context.Context, t *harness.Traefik) (memSnapshot, error) {
	rt, err := harness.ReadRuntimeStats(ctx, t.AdminAddr)
	if err != nil {
		return memSnapshot{}, err
	}
	deadline := time.Now().Add(memSettleMax)
	var seen []int64 // one reading a second
	quiet := int(memSettleQuiet / time.Second)
	for {
		select {
		case <-ctx.Done():
			return memSnapshot{}, ctx.Err()
		case <-time.After(time.Second):
		}
		rss, err := t.RSS()
		if err != nil {
			return memSnapshot{}, err
		}
		seen = append(seen, rss)
		if len(seen) > quiet && seen[len(seen)-1-quiet]-rss < memSettleStep || time.Now().After(deadline) {
			return memSnapshot{rss: rss, heap: rt.HeapAlloc}, nil
		}
	}
}

// sendSessions sends one request for every step-th session in [from, to),
// memConcurrency at a time, and fails on any answer but 200.
func sendSessions(ctx context.Context, base string, from, to, step int) error {
	transport := &http.Transport{MaxIdleConnsPerHost: memConcurrency, DisableCompression: true}
	defer transport.CloseIdleConnections()
	client := &http.Client{Transport: transport, Timeout: 30 * time.Second}
	next := make(chan int)
	errs := make(chan error, memConcurrency)
	for range memConcurrency {
		go func() {
			for i := range next {
				if _, err := requestOK(ctx, client, http.MethodGet, base+"/small", "session="+session(burstSlots+i)); err != nil {
					errs <- err
					for range next {
					}
					return
				}
			}
			errs <- nil
		}()
	}
	for i := from; i < to && ctx.Err() == nil; i += step {
		next <- i
	}
	close(next)
	var err error
	for range memConcurrency {
		err = cmp.Or(err, <-errs)
	}
	return cmp.Or(ctx.Err(), err)
}
