package main

import (
	"crypto/rand"
	"fmt"
	"net/http"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/traefik-authgear/traefik-authgear/harness/internal/harness"
	"github.com/traefik-authgear/traefik-authgear/harness/internal/stack"
)

// floodMaxEntries is the flood middleware's cacheMaxEntries.
const floodMaxEntries = 10000

// randomPrefix is a prefix for session cookies no earlier run sent.
func randomPrefix(letter string) string { return letter + rand.Text()[:10] + "-" }

// runFlood sends requests that each carry a new random session cookie
// through a middleware with cacheMaxEntries 10000, while a legitimate user
// keeps using the site, and watches Traefik's memory.
func runFlood(o *options, rep *report) error {
	const part = "flood"
	// DEBUG: Traefik logs the plugin's stdout, where the cache reports its
	// size every 10,000 insertions. A cacheTTL longer than the flood, so
	// that the returning user's entry is still fresh after it: what is
	// measured is eviction, not expiry.
	e, err := startEnv(harness.Options{LogLevel: "DEBUG", ExtraStatic: debugStatic},
		stack.Middleware{Name: "flood", Options: map[string]any{"cacheTTL": "30m", "cacheMaxEntries": floodMaxEntries}})
	if err != nil {
		return err
	}
	defer e.Stop()
	prefix := randomPrefix("f")
	url := e.URL("/flood/x?small=1")
	stale := e.oracle.identity(http.Header{"Cookie": {"session=" + prefix}}) // every flood cookie is an unknown session
	flood := func(i int64) job {
		return job{req: get(url, http.Header{"Cookie": {"session=" + prefix + strconv.FormatInt(i, 36)}}), want: stale}
	}
	client := h1Client(o.floodWorkers)
	// calls sends one job and returns the resolver calls it took.
	calls := func(j job) (int64, *loadResult) {
		c0 := e.Resolver.Calls()
		r := one(client, j)
		return e.Resolver.Calls() - c0, r
	}
	// A user who made two requests before the flood and none during it.
	bob := http.Header{"Cookie": {"session=bob-session"}}
	returning := job{req: get(url, bob), want: e.oracle.identity(bob), status: http.StatusOK}
	calls(returning)
	calls(returning)

	alice := http.Header{"Cookie": {"session=alice-session"}}
	legit := background(loadSpec{client: h1Client(1), workers: 1, rate: 10, duration: time.Hour,
		next: func(int64) job {
			return job{req: get(url, alice), want: e.oracle.identity(alice), status: http.StatusOK}
		}})
	var sent atomic.Int64
	before := e.rss()
	samples := sampleRSS(e, time.Second, &sent)
	base := max(2*floodMaxEntries, o.floodRequests/10)
	atFull := statsAt(e, &sent, base)
	calls0 := e.Resolver.Calls()
	fmt.Printf("   flooding with %s requests, %d connections...\n", count(o.floodRequests), o.floodWorkers)
	// 12 minutes keep make stress within 30 minutes on a slow machine.
	res := runLoad(loadSpec{client: client, workers: o.floodWorkers, max: o.floodRequests, duration: 12 * time.Minute, sent: &sent, next: flood})
	lu := legit()
	rss := samples()

	rep.check(part, "requests with a new random session cookie", count(res.requests), "= "+count(o.floodRequests), res.requests == o.floodRequests)
	rep.info(part, "throughput", fmt.Sprintf("%.0f req/s over %s", res.rate(), res.elapsed.Round(time.Second)))
	rep.check(part, "answers", statusCounts(res.statuses), "all 200", res.statuses[200] == res.requests)
	rep.check(part, "identity errors", res.identity.String(), "0", res.identity.n == 0)
	rep.info(part, "resolver calls", count(e.Resolver.Calls()-calls0))
	rep.check(part, "legitimate user during the flood: requests / failures",
		fmt.Sprintf("%s / %s (slowest %s)", count(lu.requests), count(lu.failures()), lu.slowest.Round(time.Millisecond)),
		"0 failures", lu.requests > 0 && lu.failures() == 0)

	atBase, peakAfter := rssAt(rss, base), peakRSS(rss, base)
	rep.info(part, "Traefik RSS before the flood", mib(before))
	rep.info(part, "Traefik peak RSS during the flood", mib(peakRSS(rss, 0)))
	rep.check(part, fmt.Sprintf("RSS once the cache is full (after %s requests) → peak after → end", count(base)),
		fmt.Sprintf("%s → %s → %s", mib(atBase), mib(peakAfter), mib(rssAt(rss, o.floodRequests))),
		"peak after ≤ +max(20%, 16 MiB)", atBase > 0 && peakAfter-atBase <= max(atBase/5, 16<<20))
	full, fullErr := atFull()
	end, endErr := e.runtimeStats()
	if fullErr != nil || endErr != nil {
		rep.check(part, "Traefik live heap (debug endpoints)", fmt.Sprintf("error: %v %v", fullErr, endErr), "readable", false)
	} else {
		rep.check(part, fmt.Sprintf("Traefik live heap after a forced GC: after %s requests → end", count(base)),
			fmt.Sprintf("%s → %s (%s → %s goroutines)", mib(full.liveHeap), mib(end.liveHeap), count(full.goroutines), count(end.goroutines)),
			"end ≤ +max(10%, 4 MiB)", end.liveHeap-full.liveHeap <= max(full.liveHeap/10, 4<<20))
	}
	c, ok := e.logs.lastCacheReport()
	rep.check(part, "cache entries (the plugin's last size report)",
		fmt.Sprintf("%s of max %s, after %s insertions, %s evicted to make room (report found: %v)", count(c[0]), count(c[1]), count(c[2]), count(c[3]), ok),
		"≤ "+count(floodMaxEntries), ok && c[0] <= floodMaxEntries && c[1] == floodMaxEntries)
	n, r := calls(returning)
	rep.check(part, "a user who made two requests before the flood and none during it: resolver calls for the next request",
		count(n), "0 (still cached: the segmented LRU protects returning users)", n == 0 && r.failures() == 0 && r.statuses[200] == 1)

	// The cache's content after the flood: the last floodMaxEntries
	// credentials again, newest first (hits make no resolver call), then one
	// twice as old, which must have been evicted.
	if res.requests < 3*floodMaxEntries {
		rep.info(part, "cache probe", "skipped: flood shorter than 3 × cacheMaxEntries")
	} else {
		c0 := e.Resolver.Calls()
		probe := runLoad(loadSpec{client: client, workers: 4, max: floodMaxEntries, duration: 2 * time.Minute,
			next: func(i int64) job { return flood(res.requests - 1 - i) }})
		hits := probe.requests - (e.Resolver.Calls() - c0)
		rep.check(part, fmt.Sprintf("probe: of the last %s flood credentials, still cached", count(floodMaxEntries)),
			count(hits), "≥ 9,800 (cacheMaxEntries minus in-flight reordering)", hits >= floodMaxEntries-200 && probe.identity.n == 0)
		n, old := calls(flood(res.requests - 1 - 2*floodMaxEntries))
		rep.check(part, fmt.Sprintf("probe: credential %s requests old was evicted (resolver calls)", count(2*floodMaxEntries)),
			count(n), "1", n == 1 && old.statuses[200] == 1)
	}
	e.health(rep, part)
	return nil
}
