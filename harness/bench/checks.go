package main

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/traefik-authgear/traefik-authgear/harness/internal/harness"
	"github.com/traefik-authgear/traefik-authgear/harness/internal/stack"
	"github.com/traefik-authgear/traefik-authgear/harness/internal/standin"
)

// checkClient is used for the one-off requests that check each row.
var checkClient = &http.Client{Timeout: 10 * time.Second}

// request returns the status, body and X-Echo-Authgear (identity at the backend) of one request.
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

// checkRow makes sure, before a row is timed, that GET /small answers "ok" and
// that the requests of s.expect get the identity and resolver calls it says.
func checkRow(ctx context.Context, p *proxies, ctl resolverCtl, s rowSpec, benchUserID string) error {
	base, e := p.base[s.ep], s.expect
	fail := func(format string, args ...any) error {
		return fmt.Errorf("row %s (%s) does not do what it says: %s", s.name, base, fmt.Sprintf(format, args...))
	}
	// A background refresh that an earlier row started (its answer past
	// cacheTTL after the rows timed in between) must not be counted here.
	if err := ctl.settle(ctx); err != nil {
		return err
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
			case strings.Contains(id, "jwt-assertion=ey") != e.assertion:
				return fail("the backend received identity %q, want the signed assertion: %v", id, e.assertion)
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

// resolverCtl is the stand-in's host:port; its methods drive its control endpoints.
type resolverCtl string

// resolveURL is the resolve endpoint the proxies call.
func (r resolverCtl) resolveURL() string { return "http://" + string(r) + standin.PathResolve }

// settle waits until the stand-in has received no resolve request for
// settleQuiet (at most settleLimit): the calls under way have arrived.
func (r resolverCtl) settle(ctx context.Context) error {
	last, err := r.calls(ctx)
	for deadline := time.Now().Add(settleLimit); err == nil && time.Now().Before(deadline); {
		time.Sleep(settleQuiet)
		var now int64
		if now, err = r.calls(ctx); err == nil && now == last {
			return nil
		}
		last = now
	}
	return err
}

// How long the stand-in must stay quiet before a row is checked, and for
// how long settle waits for that at the most.
const (
	settleQuiet = 300 * time.Millisecond
	settleLimit = 5 * time.Second
)

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

// burstResult is one burst: n concurrent requests with one new credential.
type burstResult struct {
	row          string
	latency      time.Duration
	requests, ok int   // ok: answered 200 with the credential's identity at the backend
	calls        int64 // resolver calls the burst caused
}

// runBurst opens n connections, then sends n requests at once with burst slot `slot`'s session.
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

// memResult is Traefik's memory with an empty cache and with n more sessions cached.
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

// measureMemory reads a Traefik's memory after memWarm distinct sessions and again
// after n more, each of which must cost one resolver call and stay cached.
func measureMemory(ctx context.Context, ctl resolverCtl, backendURL string, n int, log io.Writer) (*memResult, error) {
	return measureMemoryWith(ctx, ctl, backendURL, n, nil, log)
}

// measureMemoryWith is measureMemory with more options for the middleware.
func measureMemoryWith(ctx context.Context, ctl resolverCtl, backendURL string, n int, extra map[string]any, log io.Writer) (*memResult, error) {
	res := &memResult{sessions: n, maxEntries: memWarm + n + 1000}
	opts := map[string]any{"cacheTTL": "1h", "cacheMaxEntries": res.maxEntries}
	maps.Copy(opts, extra)
	s, err := stack.Start(ctx, stack.Options{
		Middlewares: []stack.Middleware{{Name: "auth", Options: opts}},
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

// snapshot reads Traefik's live heap after forced GCs, then its settled RSS.
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

// sendSessions sends a request for every step-th session in [from, to); 200 or fail.
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
