package main

import (
	"fmt"
	"net/http"
	"strings"
	"time"
)

// runReloads rewrites the dynamic configuration o.reloads times while
// signed-in users and anonymous clients keep sending requests: the first
// half with the middleware's settings unchanged (only a router is added),
// the second half with cacheTTL changed every time. Besides the resident
// memory, it reads Traefik's live heap after a forced GC through its debug
// endpoints, which resolves a few KiB per reload.
func runReloads(o *options, rep *report) error {
	const part = "reloads"
	mw := mwSpec{name: "reload", options: []string{"cacheTTL: 10m"}}
	s, err := startStackWith([]mwSpec{mw}, stackOptions{extraStatic: debugStatic})
	if err != nil {
		return err
	}
	defer s.close()
	all := knownCredentials(s.oracle)
	creds := []credential{all[0], all[3], all[4], all[6], all[7], all[len(all)-1]}
	url := s.url("/reload/x?small=1")
	for _, c := range creds { // warm the cache
		firstRequest(newClient(1), url, c)
	}

	stop := make(chan struct{})
	done := make(chan *loadResult, 1)
	go func() {
		done <- runLoad(loadSpec{
			client: newClient(4), workers: 4, rate: 400, duration: 20 * time.Minute, stop: stop,
			next: func(i int64) job {
				c := creds[i%int64(len(creds))]
				return job{req: get(url, c.header), want: c.want, status: http.StatusOK}
			},
		})
	}()

	same := o.reloads / 2
	at10 := max(1, o.reloads/10)
	rssStart := s.rss()
	var rssAt10, rssAfterSame int64
	var rtAt10, rtAfterSame runtimeStats
	var rtErr error
	calls0 := s.resolver.Calls()
	var callsSame int64
	applied := 0
	for i := 1; i <= o.reloads; i++ {
		ttl := []string{"10m", "600s"}[i%2] // the same duration, written differently
		if i > same {
			ttl = []string{"10m", "11m"}[i%2]
		}
		mw.options = []string{"cacheTTL: " + ttl}
		probe := fmt.Sprintf("probe-%d", i)
		extra := fmt.Sprintf("    r-%s:\n      rule: PathPrefix(`/%s/`)\n      entryPoints: [web]\n      middlewares: [reload]\n      service: backend\n", probe, probe)
		if err := s.traefik.WriteDynamic(s.config([]mwSpec{mw}, extra)); err != nil {
			close(stop)
			<-done
			return err
		}
		if s.traefik.WaitRoute("/"+probe+"/x?small=1", 15*time.Second) == nil {
			applied++
		}
		switch i {
		case at10:
			rssAt10 = s.rss()
			rtAt10, rtErr = s.runtimeStats()
		case same:
			callsSame = s.resolver.Calls() - calls0
			rssAfterSame = s.rss()
			rtAfterSame, rtErr = s.runtimeStats()
		}
	}
	time.Sleep(500 * time.Millisecond) // some traffic after the last reload
	close(stop)
	res := <-done
	callsChanged := s.resolver.Calls() - calls0 - callsSame
	rssEnd := s.rss()
	// Connections of replaced resolver clients that were busy during a
	// reload close after the clients' idle timeout (60 s): measure after it.
	time.Sleep(65 * time.Second)
	rtEnd, err := s.runtimeStats()
	if rtErr == nil {
		rtErr = err
	}

	rep.check(part, "configuration rewrites applied (each adds a router; waited for)", fmt.Sprintf("%d of %d", applied, o.reloads),
		fmt.Sprint(o.reloads), applied == o.reloads)
	failed := res.statusErrors + res.identityErrors
	rep.check(part, "requests during the reloads / failed (status, identity)", fmt.Sprintf("%s / %s%s", count(res.requests), count(failed), firstExample(res.examples)),
		"0 failed", failed == 0 && res.requests > 0)
	rep.check(part, fmt.Sprintf("resolver calls during %d same-setting reloads (cache survives)", same), count(callsSame), "0", callsSame == 0)
	rep.check(part, fmt.Sprintf("resolver calls during %d changed-setting reloads (new cache each; ≤ %d users × reloads)", o.reloads-same, len(creds)-1),
		count(callsChanged), "≥ 1", callsChanged >= 1)
	rep.check(part, fmt.Sprintf("Traefik RSS at start → after %d → after %d → after %d reloads", at10, same, o.reloads),
		strings.Join([]string{mib(rssStart), mib(rssAt10), mib(rssAfterSame), mib(rssEnd)}, " → "),
		fmt.Sprintf("end ≤ after %d + max(20%%, 16 MiB)", at10), rssAt10 > 0 && rssEnd-rssAt10 <= max64(rssAt10/5, 16<<20))
	if rtErr != nil {
		rep.check(part, "Traefik live heap and goroutines (debug endpoints)", "error: "+rtErr.Error(), "readable", false)
	} else {
		reloadHeapRows(rep, at10, same, o.reloads-same, rtAt10, rtAfterSame, rtEnd)
	}
	s.health(rep, part)
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
func reloadHeapRows(rep *report, at10, same, changed int, a, b, c runtimeStats) {
	const part = "reloads"
	rep.info(part, fmt.Sprintf("Traefik live heap after a forced GC, goroutines: after %d reloads", at10), a.String())
	rep.info(part, fmt.Sprintf("… after %d same-setting reloads", same), b.String())
	rep.info(part, fmt.Sprintf("… after %d changed-setting reloads and 60 s idle timeout", changed), c.String())
	perSame := (b.liveHeap - a.liveHeap) / int64(max(1, same-at10))
	perChanged := (c.liveHeap - b.liveHeap) / int64(max(1, changed))
	limit := fmt.Sprintf("≤ %d KiB", maxGrowthPerReload>>10)
	if same-at10 >= minReloadsForSlope {
		rep.check(part, "live heap left per same-setting reload", bytesPer(perSame), limit, perSame <= maxGrowthPerReload)
	} else {
		rep.info(part, "live heap left per same-setting reload (too few reloads to judge)", bytesPer(perSame))
	}
	if changed >= minReloadsForSlope {
		rep.check(part, "live heap left per changed-setting reload", bytesPer(perChanged), limit, perChanged <= maxGrowthPerReload)
	} else {
		rep.info(part, "live heap left per changed-setting reload (too few reloads to judge)", bytesPer(perChanged))
	}
	rep.check(part, "goroutines after the reloads", fmt.Sprintf("%d → %d", b.goroutines, c.goroutines),
		"≤ before + 10", c.goroutines <= b.goroutines+10)
}

// bytesPer renders a per-reload byte count.
func bytesPer(n int64) string {
	return fmt.Sprintf("%.1f KiB", float64(n)/1024)
}
