package main

import (
	"errors"
	"fmt"
	"time"

	"github.com/traefik-authgear/traefik-authgear/harness/internal/harness"
	"github.com/traefik-authgear/traefik-authgear/harness/internal/stack"
)

// Below minReloadsForSlope reloads, a growth of a few KiB per reload cannot
// be told from the garbage collector's noise (about ±0.5 MiB of live heap):
// the per-reload figures are informational. maxGrowthPerReload bounds the
// live heap one reload may leave behind.
const (
	minReloadsForSlope = 100
	maxGrowthPerReload = 5 << 10
)

// reloadMiddleware is the reloads part's middleware before the reloads.
var reloadMiddleware = stack.Middleware{Name: "reload", Options: map[string]any{"cacheTTL": "10m"}}

// runReloads rewrites the dynamic configuration o.reloads times (each adds a
// router; the first half keeps the middleware's settings, the second changes
// cacheTTL every time) while users and anonymous clients keep sending
// requests, and watches Traefik's RSS and live heap.
func runReloads(o *options, e *env, rep *report) error {
	const part = "reloads"
	mw := reloadMiddleware
	all := knownCredentials(e.identity)
	creds, url := []credential{all[0], all[3], all[4], all[6], all[7], all[len(all)-1]}, e.URL("/reload/x?small=1")
	jobOf := func(i int64) job { return creds[i%int64(len(creds))].job(url) }
	for i := range int64(len(creds)) { // warm the cache
		one(h1Client(1), jobOf(i))
	}
	load := background(loadSpec{client: h1Client(4), workers: 4, rate: 400, duration: 20 * time.Minute, next: jobOf})

	// RSS at the start, after at10 and same reloads and at the end; runtime
	// figures after at10 and same reloads and 65 s after the end.
	same, at10 := o.reloads/2, max(1, o.reloads/10)
	rss := [4]int64{e.rss()}
	var stats [3]harness.RuntimeStats
	var errs [3]error
	calls0, callsSame, applied := e.Resolver.Calls(), int64(0), 0
	for i := 1; i <= o.reloads; i++ {
		ttl := []string{"10m", "600s"}[i%2] // the same duration, written differently
		if i > same {
			ttl = []string{"10m", "11m"}[i%2]
		}
		mw.Options = map[string]any{"cacheTTL": ttl}
		probe := stack.Route{Prefix: fmt.Sprintf("/probe-%d/", i), EntryPoints: []string{"web"}, Middlewares: []string{mw.Name}}
		if e.Reload([]stack.Middleware{mw}, routes([]stack.Middleware{mw}, probe)) == nil {
			applied++
		}
		switch i {
		case at10:
			rss[1] = e.rss()
			stats[0], errs[0] = e.runtimeStats()
		case same:
			callsSame, rss[2] = e.Resolver.Calls()-calls0, e.rss()
			stats[1], errs[1] = e.runtimeStats()
		}
	}
	time.Sleep(500 * time.Millisecond) // some traffic after the last reload
	res := load()
	callsChanged := e.Resolver.Calls() - calls0 - callsSame
	rss[3] = e.rss()
	// Connections of replaced resolver clients that were busy during a
	// reload close after the clients' idle timeout (60 s): measure after it.
	time.Sleep(65 * time.Second)
	stats[2], errs[2] = e.runtimeStats()

	rep.check(part, "configuration rewrites applied (each adds a router; waited for)", fmt.Sprintf("%d of %d", applied, o.reloads),
		fmt.Sprint(o.reloads), applied == o.reloads)
	rep.check(part, "requests during the reloads / failed (status, identity)", fmt.Sprintf("%s / %s, %s", count(res.requests), res.status, res.identity),
		"0 failed", res.failures() == 0 && res.requests > 0)
	rep.check(part, fmt.Sprintf("resolver calls during %d same-setting reloads (cache survives)", same), count(callsSame), "0", callsSame == 0)
	rep.check(part, fmt.Sprintf("resolver calls during %d changed-setting reloads (new cache each; ≤ %d users × reloads)", o.reloads-same, len(creds)-1),
		count(callsChanged), "≥ 1", callsChanged >= 1)
	rep.check(part, fmt.Sprintf("Traefik RSS at start → after %d → after %d → after %d reloads", at10, same, o.reloads), mibs(rss[:]...),
		fmt.Sprintf("end ≤ after %d + max(20%%, 16 MiB)", at10), rss[1] > 0 && rss[3]-rss[1] <= max(rss[1]/5, 16<<20))
	if err := errors.Join(errs[:]...); err != nil {
		rep.check(part, "Traefik live heap and goroutines (debug endpoints)", "error: "+err.Error(), "readable", false)
	} else {
		rep.info(part, fmt.Sprintf("Traefik live heap after a forced GC, goroutines: after %d reloads", at10), statsText(stats[0]))
		rep.info(part, fmt.Sprintf("… after %d same-setting reloads", same), statsText(stats[1]))
		rep.info(part, fmt.Sprintf("… after %d changed-setting reloads and 60 s idle timeout", o.reloads-same), statsText(stats[2]))
		for i, n := range []int{same - at10, o.reloads - same} {
			kind := []string{"same-setting", "changed-setting"}[i]
			per := (stats[i+1].HeapAlloc - stats[i].HeapAlloc) / int64(max(1, n))
			value := fmt.Sprintf("%.1f KiB", float64(per)/1024)
			if n < minReloadsForSlope {
				rep.info(part, "live heap left per "+kind+" reload (too few reloads to judge)", value)
			} else {
				rep.check(part, "live heap left per "+kind+" reload", value, fmt.Sprintf("≤ %d KiB", maxGrowthPerReload>>10), per <= maxGrowthPerReload)
			}
		}
		rep.check(part, "goroutines after the reloads", fmt.Sprintf("%d → %d", stats[1].Goroutines, stats[2].Goroutines),
			"≤ before + 10", stats[2].Goroutines <= stats[1].Goroutines+10)
	}
	return nil
}
