package main

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"
)

// burstResult is one burst: n concurrent requests with one credential that
// no proxy has seen before.
type burstResult struct {
	row      string
	latency  time.Duration
	requests int
	ok       int   // answered 200 with the credential's identity at the backend
	calls    int64 // resolver calls the burst caused
}

// runBurst sets the resolver's latency, opens n keep-alive connections to base (anonymous requests, all
// at once, so that connection set-up does not spread the burst out), then
// releases n goroutines at once, each sending one request with the fresh
// session of burst slot `slot`, and counts the resolver calls they cause.
func runBurst(ctx context.Context, base string, ctl resolverCtl, row string, n, slot int, latency time.Duration) (burstResult, error) {
	res := burstResult{row: row, latency: latency, requests: n}
	if err := ctl.setLatency(ctx, latency); err != nil {
		return res, err
	}
	transport := &http.Transport{MaxIdleConnsPerHost: n, IdleConnTimeout: time.Minute, DisableCompression: true}
	defer transport.CloseIdleConnections()
	client := &http.Client{Transport: transport, Timeout: 60 * time.Second}
	// all runs f in n goroutines released together.
	all := func(f func()) {
		var ready, done sync.WaitGroup
		start := make(chan struct{})
		for range n {
			ready.Add(1)
			done.Go(func() {
				ready.Done()
				<-start
				f()
			})
		}
		ready.Wait()
		close(start)
		done.Wait()
	}
	all(func() { _, _, _, _ = get(ctx, client, base+"/small", "") })
	if ctx.Err() != nil {
		return res, ctx.Err()
	}
	cookie, want := "session="+session(slot), "user-id="+userID(slot)
	var mu sync.Mutex
	var firstErr error
	calls, err := ctl.during(ctx, func() error {
		all(func() {
			status, _, identity, err := get(ctx, client, base+"/check", cookie)
			mu.Lock()
			defer mu.Unlock()
			if err != nil && firstErr == nil {
				firstErr = err
			}
			if err == nil && status == http.StatusOK && strings.Contains(identity, want) {
				res.ok++
			}
		})
		return nil
	})
	res.calls = calls
	if err == nil && firstErr != nil && res.ok == 0 {
		err = fmt.Errorf("burst on %s: %w", row, firstErr)
	}
	return res, err
}
