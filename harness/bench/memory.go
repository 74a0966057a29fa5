package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/traefik-authgear/traefik-authgear/harness/internal/harness"
)

// memConcurrency is how many requests at once fill the cache.
const memConcurrency = 64

// memSnapshot is Traefik's memory at one moment.
type memSnapshot struct {
	rss  int64 // VmRSS
	heap int64 // runtime.MemStats.HeapAlloc after a forced GC; -1 when unknown
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
	rss = float64(m.after.rss-m.before.rss) / float64(m.sessions)
	heap = -1
	if m.before.heap >= 0 && m.after.heap >= 0 {
		heap = float64(m.after.heap-m.before.heap) / float64(m.sessions)
	}
	return rss, heap
}

// measureMemory starts a Traefik of its own with a cache large enough for
// memWarm+n sessions, warms it up with memWarm distinct sessions, reads its
// memory, sends n more distinct sessions (each a user of its own with a full
// identity answer), checks that every one cost one resolver call and stayed
// cached, and reads its memory again. Traefik's debug API forces a GC
// before each reading, so garbage left by the requests does not count as
// live heap; RSS is read once it has stopped falling (see settledRSS).
func measureMemory(ctx context.Context, traefikBin string, ctl *resolverCtl, backendAddr string, users usersInfo, n int, log io.Writer) (memResult, error) {
	res := memResult{sessions: n, maxEntries: memWarm + n + 1000}
	addr, err := harness.FreeAddr()
	if err != nil {
		return res, err
	}
	t, err := harness.Start(ctx, harness.Options{
		Binary:      traefikBin,
		EntryPoints: map[string]string{"mem": addr},
		ExtraStatic: debugAPI,
		Dynamic: dynamicConfig(
			[]route{{entryPoint: "mem", middleware: "auth-mem"}},
			map[string]middlewareYAML{"auth-mem": pluginMiddleware(ctl.resolveURL(), users.publicHost, map[string]string{
				"cacheTTL":        `"1h"`,
				"cacheMaxEntries": strconv.Itoa(res.maxEntries),
			})},
			"http://"+backendAddr),
	})
	if err != nil {
		return res, fmt.Errorf("starting Traefik for the memory figure: %w", err)
	}
	defer t.Stop()
	base := "http://" + addr
	if err := t.WaitRequest(func() *http.Request {
		req, _ := http.NewRequest(http.MethodGet, base+"/small", nil)
		return req
	}, 60*time.Second); err != nil {
		return res, err
	}

	fmt.Fprintf(log, "[memory] warm-up: %d distinct sessions\n", memWarm)
	if err := sendSessions(ctx, base, 0, memWarm); err != nil {
		return res, err
	}
	if res.before, err = snapshot(ctx, t); err != nil {
		return res, err
	}
	calls0, err := ctl.calls(ctx)
	if err != nil {
		return res, err
	}
	fmt.Fprintf(log, "[memory] caching %d distinct sessions\n", n)
	start := time.Now()
	if err := sendSessions(ctx, base, memWarm, memWarm+n); err != nil {
		return res, err
	}
	res.fill = time.Since(start)
	calls1, err := ctl.calls(ctx)
	if err != nil {
		return res, err
	}
	if got := calls1 - calls0; got != int64(n) {
		return res, fmt.Errorf("memory figure: %d distinct sessions cost %d resolver calls, want one each", n, got)
	}
	// Every session must still be cached: ask again for a spread of them.
	asked := 0
	for i := memWarm; i < memWarm+n; i += n/100 + 1 {
		if err := sendSessions(ctx, base, i, i+1); err != nil {
			return res, err
		}
		asked++
	}
	if calls2, err := ctl.calls(ctx); err != nil {
		return res, err
	} else if calls2 != calls1 {
		return res, fmt.Errorf("memory figure: %d sessions asked again cost %d resolver calls: the cache did not keep them all", asked, calls2-calls1)
	}
	res.after, err = snapshot(ctx, t)
	return res, err
}

// sendSessions sends one request for each session in [from, to),
// memConcurrency at a time, and fails on any answer but 200.
func sendSessions(ctx context.Context, base string, from, to int) error {
	transport := &http.Transport{MaxIdleConnsPerHost: memConcurrency, DisableCompression: true}
	defer transport.CloseIdleConnections()
	client := &http.Client{Transport: transport, Timeout: 30 * time.Second}
	var next atomic.Int64
	next.Store(int64(from))
	var wg sync.WaitGroup
	var once sync.Once
	var firstErr error
	for w := 0; w < memConcurrency; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= to || ctx.Err() != nil {
					return
				}
				if err := getOK(ctx, client, base+"/small", "session="+memSession(i)); err != nil {
					once.Do(func() { firstErr = err })
					return
				}
			}
		}()
	}
	wg.Wait()
	if ctx.Err() != nil {
		return ctx.Err()
	}
	return firstErr
}

// getOK sends one GET (with the cookie, if not empty), drops the answer and
// wants 200.
func getOK(ctx context.Context, client *http.Client, url, cookie string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	if cookie != "" {
		req.Header.Set("Cookie", cookie)
	}
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	return nil
}
