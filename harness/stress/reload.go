package main

import (
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/traefik-authgear/traefik-authgear/harness/internal/harness"
	"github.com/traefik-authgear/traefik-authgear/harness/internal/stack"
)

// runReloads rewrites the dynamic configuration o.reloads times while
// signed-in users and anonymous clients keep sending requests: the first
// half with the middleware's settings unchanged (only a router is added),
// the second half with cacheTTL changed every time. Besides the resident
// memory, it reads Traefik's live heap after a forced GC through its debug
// endpoints, which resolves a few KiB per reload.
func runReloads(o *options, rep *report) error {
	const part = "reloads"
	mw := stack.Middleware{Name: "reload", Options: map[string]any{"cacheTTL": "10m"}}
	e, err := startEnv(harness.Options{ExtraStatic: debugStatic}, mw)
	if err != nil {
		return err
	}
	defer e.Stop()
	all := knownCredentials(e.oracle)
	creds := []credential{all[0], all[3], all[4], all[6], all[7], all[len(all)-1]}
	url := e.URL("/reload/x?small=1")
	for _, c := range creds { // warm the cache
		one(h1Client(1), job{req: get(url, c.header), want: c.want})
	}
	load := background(loadSpec{client: h1Client(4), workers: 4, rate: 400, duration: 20 * time.Minute,
		next: func(i int64) job {
			c := creds[i%int64(len(creds))]
			return job{req: get(url, c.header), want: c.want, status: http.StatusOK}
		}})

	same, at10 := o.reloads/2, max(1, o.reloads/10)
	rss := []int64{e.rss(), 0, 0, 0} // at start, after at10, after same, at the end
	var stats [3]runtimeStats        // after at10, after same, 65 s after the end
	var statsErr error
	calls0 := e.Resolver.Calls()
	var callsSame int64
	applied := 0
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
			stats[0], statsErr = e.runtimeStats()
		case same:
			callsSame = e.Resolver.Calls() - calls0
			rss[2] = e.rss()
			stats[1], statsErr = e.runtimeStats()
		}
	}
	time.Sleep(500 * time.Millisecond) // some traffic after the last reload
	res := load()
	callsChanged := e.Resolver.Calls() - calls0 - callsSame
	rss[3] = e.rss()
	// Connections of replaced resolver clients that were busy during a
	// reload close after the clients' idle timeout (60 s): measure after it.
	time.Sleep(65 * time.Second)
	var err2 error
	if stats[2], err2 = e.runtimeStats(); statsErr == nil {
		statsErr = err2
	}

	rep.check(part, "configuration rewrites applied (each adds a router; waited for)", fmt.Sprintf("%d of %d", applied, o.reloads),
		fmt.Sprint(o.reloads), applied == o.reloads)
	rep.check(part, "requests during the reloads / failed (status, identity)", fmt.Sprintf("%s / %s, %s", count(res.requests), res.status, res.identity),
		"0 failed", res.failures() == 0 && res.requests > 0)
	rep.check(part, fmt.Sprintf("resolver calls during %d same-setting reloads (cache survives)", same), count(callsSame), "0", callsSame == 0)
	rep.check(part, fmt.Sprintf("resolver calls during %d changed-setting reloads (new cache each; ≤ %d users × reloads)", o.reloads-same, len(creds)-1),
		count(callsChanged), "≥ 1", callsChanged >= 1)
	mibs := make([]string, len(rss))
	for i, n := range rss {
		mibs[i] = mib(n)
	}
	rep.check(part, fmt.Sprintf("Traefik RSS at start → after %d → after %d → after %d reloads", at10, same, o.reloads), strings.Join(mibs, " → "),
		fmt.Sprintf("end ≤ after %d + max(20%%, 16 MiB)", at10), rss[1] > 0 && rss[3]-rss[1] <= max(rss[1]/5, 16<<20))
	if statsErr != nil {
		rep.check(part, "Traefik live heap and goroutines (debug endpoints)", "error: "+statsErr.Error(), "readable", false)
	} else {
		reloadHeapRows(rep, at10, same, o.reloads-same, stats)
	}
	e.health(rep, part)
	return nil
}

// minReloadsForSlope is the number of reloads below which a growth of a few
// KiB per reload cannot be told from the garbage collector's noise (about
// ±0.5 MiB of live heap); below it the per-reload figures are informational.
const minReloadsForSlope = 100

// maxGrowthPerReload bounds the live heap that one reload may leave behind.
const maxGrowthPerReload = 5 << 10

// reloadHeapRows reports Traefik's live heap (after a forced GC) and
// goroutines after the first tenth of the reloads, after the same-setting
// half and 65 s after the changed-setting half, and the growth per reload.
func reloadHeapRows(rep *report, at10, same, changed int, st [3]runtimeStats) {
	const part = "reloads"
	rep.info(part, fmt.Sprintf("Traefik live heap after a forced GC, goroutines: after %d reloads", at10), st[0].String())
	rep.info(part, fmt.Sprintf("… after %d same-setting reloads", same), st[1].String())
	rep.info(part, fmt.Sprintf("… after %d changed-setting reloads and 60 s idle timeout", changed), st[2].String())
	for i, kind := range []string{"same-setting", "changed-setting"} {
		n := []int{same - at10, changed}[i]
		per := (st[i+1].liveHeap - st[i].liveHeap) / int64(max(1, n))
		value := fmt.Sprintf("%.1f KiB", float64(per)/1024)
		if n < minReloadsForSlope {
			rep.info(part, "live heap left per "+kind+" reload (too few reloads to judge)", value)
		} else {
			rep.check(part, "live heap left per "+kind+" reload", value, fmt.Sprintf("≤ %d KiB", maxGrowthPerReload>>10), per <= maxGrowthPerReload)
		}
	}
	rep.check(part, "goroutines after the reloads", fmt.Sprintf("%d → %d", st[1].goroutines, st[2].goroutines),
		"≤ before + 10", st[2].goroutines <= st[1].goroutines+10)
}
