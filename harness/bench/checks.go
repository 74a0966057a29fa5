package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/traefik-authgear/traefik-authgear/harness/internal/standin"
)

// checkClient is used for the one-off requests that check each row.
var checkClient = &http.Client{Timeout: 10 * time.Second}

// request returns the status, body and X-Echo-Authgear (the identity the
// backend received) of one request with the cookie, if any.
func request(ctx context.Context, client *http.Client, method, url, cookie string) (status int, body, identity string, err error) {
	req, err := http.NewRequestWithContext(ctx, method, url, nil)
	if err != nil {
		return 0, "", "", err
	}
	if cookie != "" {
		req.Header.Set("Cookie", cookie)
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0, "", "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	return resp.StatusCode, string(b), resp.Header.Get("X-Echo-Authgear"), err
}

// requestOK is request that wants 200 and returns the body.
func requestOK(ctx context.Context, client *http.Client, method, url, cookie string) (string, error) {
	status, body, _, err := request(ctx, client, method, url, cookie)
	if err == nil && status != http.StatusOK {
		err = fmt.Errorf("%s %s: %d %q", method, url, status, body)
	}
	return body, err
}

// checkRow makes sure a row does what its name says before it is timed:
// GET /small answers "ok", and the requests of s.expect reach the backend
// with the identity and cost the resolver calls it says.
func checkRow(ctx context.Context, p *proxies, ctl resolverCtl, s rowSpec, benchUserID string) error {
	base, e := p.base[s.ep], s.expect
	fail := func(format string, args ...any) error {
		return fmt.Errorf("row %s (%s) does not do what it says: %s", s.name, base, fmt.Sprintf(format, args...))
	}
	if status, body, _, err := request(ctx, checkClient, http.MethodGet, base+"/small", s.cookie()); err != nil || status != http.StatusOK || body != "ok" {
		return fail("GET /small answered %d %q (%v), want 200 \"ok\"", status, body, err)
	}
	want := strings.ReplaceAll(e.identity, userIdentity, "user-id="+benchUserID)
	cookie := s.cookie()
	var total, last int64
	for range e.n {
		c, err := ctl.during(ctx, func() error {
			status, body, id, err := request(ctx, checkClient, http.MethodGet, base+"/check", cookie)
			switch {
			case err != nil || status != http.StatusOK:
				return fail("GET /check answered %d %q (%v)", status, body, err)
			case (want == "") != (id == "") || !strings.Contains(id, want):
				return fail("the backend received identity %q, want %q", id, want)
			}
			return nil
		})
		if err != nil {
			return err
		}
		total, last = total+c, c
	}
	if total < e.minCalls || total > e.maxCalls || e.lastFree && last != 0 {
		return fail("%d resolver calls for %d request(s) with one credential, the last %d; want %d to %d (the last free: %v)",
			total, e.n, last, e.minCalls, e.maxCalls, e.lastFree)
	}
	return nil
}

// resolverCtl is the stand-in resolver process's host:port; its methods
// drive the stand-in's control endpoints (internal/standin, /_standin/).
type resolverCtl string

// resolveURL is the resolve endpoint the proxies call.
func (r resolverCtl) resolveURL() string { return "http://" + string(r) + standin.PathResolve }

// during runs f and returns the resolve requests received meanwhile.
func (r resolverCtl) during(ctx context.Context, f func() error) (int64, error) {
	before, err := r.calls(ctx)
	if err == nil {
		err = f()
	}
	if err != nil {
		return 0, err
	}
	after, err := r.calls(ctx)
	return after - before, err
}

// calls returns the number of resolve requests received so far.
func (r resolverCtl) calls(ctx context.Context) (int64, error) {
	var v struct{ Calls int64 }
	body, err := requestOK(ctx, checkClient, http.MethodGet, "http://"+string(r)+standin.ControlPrefix+"calls", "")
	if err == nil {
		err = json.Unmarshal([]byte(body), &v)
	}
	return v.Calls, err
}

// setLatency makes every later resolve request wait d before answering.
func (r resolverCtl) setLatency(ctx context.Context, d time.Duration) error {
	_, err := requestOK(ctx, checkClient, http.MethodPost, "http://"+string(r)+standin.ControlPrefix+"fault?"+standin.Fault{Latency: d}.String(), "")
	return err
}

// burstResult is one burst: n concurrent requests with one credential that
// no proxy has seen before.
type burstResult struct {
	row          string
	latency      time.Duration
	requests, ok int   // ok: answered 200 with the credential's identity at the backend
	calls        int64 // resolver calls the burst caused
}

// runBurst opens n connections to base first, then sends n requests at once
// with the fresh session of burst slot `slot` at the resolver latency.
func runBurst(ctx context.Context, base string, ctl resolverCtl, row string, n, slot int, latency time.Duration) (burstResult, error) {
	res := burstResult{row: row, latency: latency, requests: n}
	if err := ctl.setLatency(ctx, latency); err != nil {
		return res, err
	}
	transport := &http.Transport{MaxIdleConnsPerHost: n, IdleConnTimeout: time.Minute, DisableCompression: true}
	defer transport.CloseIdleConnections()
	client := &http.Client{Transport: transport, Timeout: 60 * time.Second}
	var mu sync.Mutex
	var firstErr error
	// all sends n requests with the cookie in goroutines released together.
	all := func(path, cookie, want string) {
		var ready, done sync.WaitGroup
		start := make(chan struct{})
		for range n {
			ready.Add(1)
			done.Go(func() {
				ready.Done()
				<-start
				status, _, identity, err := request(ctx, client, http.MethodGet, base+path, cookie)
				mu.Lock()
				defer mu.Unlock()
				if err != nil && firstErr == nil {
					firstErr = err
				}
				if want != "" && err == nil && status == http.StatusOK && strings.Contains(identity, want) {
					res.ok++
				}
			})
		}
		ready.Wait()
		close(start)
		done.Wait()
	}
	all("/small", "", "")
	if ctx.Err() != nil {
		return res, ctx.Err()
	}
	firstErr = nil
	var err error
	res.calls, err = ctl.during(ctx, func() error { all("/check", "session="+session(slot), "user-id="+userID(slot)); return nil })
	if err == nil && firstErr != nil && res.ok == 0 {
		err = fmt.Errorf("burst on %s: %w", row, firstErr)
	}
	return res, err
}
