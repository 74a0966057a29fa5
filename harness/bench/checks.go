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

// request sends one request with the cookie (if any) and returns the
// status, the body (its first megabyte) and the backend's X-Echo-Authgear
// summary of the identity headers it received.
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

// get is a GET request.
func get(ctx context.Context, client *http.Client, url, cookie string) (status int, body, identity string, err error) {
	return request(ctx, client, http.MethodGet, url, cookie)
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
	base := p.base[s.ep]
	fail := func(format string, args ...any) error {
		return fmt.Errorf("row %s (%s) does not do what it says: %s", s.name, base, fmt.Sprintf(format, args...))
	}
	if status, body, _, err := get(ctx, checkClient, base+"/small", s.cookie()); err != nil || status != http.StatusOK || body != "ok" {
		return fail("GET /small answered %d %q (%v), want 200 \"ok\"", status, body, err)
	}
	want := strings.ReplaceAll(s.expect.identity, userIdentity, "user-id="+benchUserID)
	cookie := s.cookie()
	c, err := ctl.during(ctx, func() error {
		for range s.expect.n {
			status, body, id, err := get(ctx, checkClient, base+"/check", cookie)
			switch {
			case err != nil || status != http.StatusOK:
				return fail("GET /check answered %d %q (%v)", status, body, err)
			case (want == "") != (id == "") || !strings.Contains(id, want):
				return fail("the backend received identity %q, want %q", id, want)
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	if c < s.expect.minCalls || c > s.expect.maxCalls {
		return fail("%d resolver calls for %d request(s) with one credential, want %d to %d", c, s.expect.n, s.expect.minCalls, s.expect.maxCalls)
	}
	return nil
}

// resolverCtl is the stand-in resolver process's host:port; its methods
// drive the stand-in's control endpoints (internal/standin, /_standin/).
type resolverCtl string

// resolveURL is the resolve endpoint the proxies call.
func (r resolverCtl) resolveURL() string { return "http://" + string(r) + standin.PathResolve }

// calls returns the number of resolve requests received so far.
func (r resolverCtl) calls(ctx context.Context) (int64, error) {
	var v struct {
		Calls int64 `json:"calls"`
	}
	err := r.do(ctx, http.MethodGet, "calls", &v)
	return v.Calls, err
}

// during runs f and returns the resolve requests received meanwhile.
func (r resolverCtl) during(ctx context.Context, f func() error) (int64, error) {
	before, err := r.calls(ctx)
	if err != nil {
		return 0, err
	}
	if err := f(); err != nil {
		return 0, err
	}
	after, err := r.calls(ctx)
	return after - before, err
}

// setLatency makes every later resolve request wait d before answering.
func (r resolverCtl) setLatency(ctx context.Context, d time.Duration) error {
	return r.do(ctx, http.MethodPost, "fault?"+standin.Fault{Latency: d}.String(), nil)
}

// do sends one control request and decodes its JSON answer into v (if not
// nil).
func (r resolverCtl) do(ctx context.Context, method, path string, v any) error {
	body, err := requestOK(ctx, checkClient, method, "http://"+string(r)+standin.ControlPrefix+path, "")
	if err != nil || v == nil {
		return err
	}
	return json.Unmarshal([]byte(body), v)
}

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
