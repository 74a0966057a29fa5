package main

import (
	"context"
	"fmt"
	"io"
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

// runBurst opens n keep-alive connections to the row's proxy, then releases
// n goroutines at once, each sending one request with the fresh session of
// burst slot `slot`, and counts the resolver calls they cause.
func runBurst(ctx context.Context, st *stack, row string, n, slot int, latency time.Duration) (burstResult, error) {
	res := burstResult{row: row, latency: latency, requests: n}
	base := st.targets[row].base
	transport := &http.Transport{MaxIdleConnsPerHost: n, IdleConnTimeout: time.Minute, DisableCompression: true}
	defer transport.CloseIdleConnections()
	client := &http.Client{Transport: transport, Timeout: 60 * time.Second}

	get := func(path, cookie string) (int, string, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+path, nil)
		if err != nil {
			return 0, "", err
		}
		if cookie != "" {
			req.Header.Set("Cookie", cookie)
		}
		resp, err := client.Do(req)
		if err != nil {
			return 0, "", err
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode, resp.Header.Get("X-Echo-Authgear"), nil
	}

	// Open the connections first (anonymous requests, all at once), so that
	// the burst is not spread out by connection set-up.
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, _, _ = get("/small", "")
		}()
	}
	wg.Wait()
	if ctx.Err() != nil {
		return res, ctx.Err()
	}

	cookie := "session=" + burstSession(slot)
	want := "user-id=" + burstUserID(slot)
	calls0, err := st.ctl.calls(ctx)
	if err != nil {
		return res, err
	}
	start := make(chan struct{})
	var ready sync.WaitGroup
	var mu sync.Mutex
	var firstErr error
	for i := 0; i < n; i++ {
		wg.Add(1)
		ready.Add(1)
		go func() {
			defer wg.Done()
			ready.Done()
			<-start
			status, identity, err := get("/check", cookie)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err != nil:
				if firstErr == nil {
					firstErr = err
				}
			case status == http.StatusOK && strings.Contains(identity, want):
				res.ok++
			}
		}()
	}
	ready.Wait()
	close(start)
	wg.Wait()
	calls1, err := st.ctl.calls(ctx)
	if err != nil {
		return res, err
	}
	res.calls = calls1 - calls0
	if firstErr != nil && res.ok == 0 {
		return res, fmt.Errorf("burst on %s: %w", row, firstErr)
	}
	return res, nil
}
