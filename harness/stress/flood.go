package main

import (
	"crypto/rand"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/traefik-authgear/traefik-authgear/harness/internal/stack"
)

// floodMaxEntries is the flood middleware's cacheMaxEntries.
const floodMaxEntries = 10000

// floodRepeatSpan is how many requests apart the flood sends each
// credential a second time: far more than the connections, so that the
// first request's answer is cached by then and the second is a cache hit
// (a second sighting, which a segmented LRU may take for a returning user).
const floodRepeatSpan = 256

// floodCredential is the credential the flood's request i carries: requests
// come in blocks of 2 × floodRepeatSpan that send floodRepeatSpan new
// credentials, then the same ones again.
func floodCredential(i int64) int64 {
	return i/(2*floodRepeatSpan)*floodRepeatSpan + i%floodRepeatSpan
}

// floodCredentials is how many distinct credentials n flood requests carry.
func floodCredentials(n int64) int64 {
	return n/(2*floodRepeatSpan)*floodRepeatSpan + min(n%(2*floodRepeatSpan), floodRepeatSpan)
}

// randomPrefix is a prefix for session cookies no earlier run sent.
func randomPrefix(letter string) string { return letter + rand.Text()[:10] + "-" }

// floodMiddleware's cacheTTL outlasts the flood, so that the returning user's
// entry is still fresh after it: what is measured is eviction, not expiry.
var floodMiddleware = stack.Middleware{Name: "flood", Options: map[string]any{"cacheTTL": "30m", "cacheMaxEntries": floodMaxEntries}}

// runFlood sends requests that carry random credentials, each twice
// (floodCredential), through a middleware with cacheMaxEntries 10000, while
// a legitimate user keeps using the site, and watches Traefik's memory.
func runFlood(o *options, e *env, rep *report) error {
	const part = "flood"
	prefix, url := randomPrefix("f"), e.URL("/flood/x?small=1")
	// Every flood credential is unknown: a session cookie answers
	// valid=false (and a clearing Set-Cookie), a bearer token no identity.
	stale, none := e.identity(http.Header{"Cookie": {"session=" + prefix}}), e.identity(http.Header{"Authorization": {"Bearer " + prefix}})
	// junk is a request with the flood's credential c: a random session
	// cookie when c is even, a random bearer token when it is odd.
	junk := func(c int64) job {
		v := prefix + strconv.FormatInt(c, 36)
		if c%2 == 0 {
			return job{req: get(url, http.Header{"Cookie": {"session=" + v}}), want: stale}
		}
		return job{req: get(url, http.Header{"Authorization": {"Bearer " + v}}), want: none}
	}
	flood := func(i int64) job { return junk(floodCredential(i)) }
	client := h1Client(o.floodWorkers)
	calls := func(j job) (int64, *loadResult) { // the resolver calls of one job
		c0 := e.Resolver.Calls()
		r := one(client, j)
		return e.Resolver.Calls() - c0, r
	}
	// Bob makes two requests before the flood and none during it; alice
	// keeps using the site.
	all := knownCredentials(e.identity)
	bob, alice := all[4], all[0]
	calls(bob.job(url))
	calls(bob.job(url))
	legit := background(loadSpec{client: h1Client(1), workers: 1, rate: 10, duration: time.Hour, next: func(int64) job { return alice.job(url) }})

	// The flood in two runs: until the cache is full (base), then the rest.
	before, base := e.rss(), min(max(4*floodMaxEntries, o.floodRequests/10), o.floodRequests)
	deadline := time.Now().Add(12 * time.Minute) // keeps make stress within 30 minutes on a slow machine
	calls0 := e.Resolver.Calls()
	fmt.Printf("   flooding with %s requests, %d connections...\n", count(o.floodRequests), o.floodWorkers)
	spec := loadSpec{client: client, workers: o.floodWorkers, max: base, duration: time.Until(deadline), next: flood}
	var res *loadResult
	peakBefore := peakRSS(e, func() { res = runLoad(spec) })
	atBase := e.rss()
	full, fullErr := e.runtimeStats()
	spec.from, spec.max, spec.duration = base, o.floodRequests, time.Until(deadline)
	peakAfter := peakRSS(e, func() { res.run(spec) })
	lu := legit()

	rep.check(part, fmt.Sprintf("requests with a random session cookie or bearer token, each sent twice (%d requests apart)", floodRepeatSpan),
		count(res.requests), "= "+count(o.floodRequests), res.requests == o.floodRequests)
	sent := floodCredentials(res.requests)
	rep.info(part, "throughput", fmt.Sprintf("%.0f req/s over %s", res.rate(), res.elapsed.Round(time.Second)))
	rep.check(part, "answers", statusCounts(res.statuses), "all 200", res.statuses[200] == res.requests)
	rep.check(part, "identity errors", res.identity.String(), "0", res.identity.n == 0)
	rep.info(part, "resolver calls", count(e.Resolver.Calls()-calls0))
	rep.check(part, "legitimate user during the flood: requests / failures",
		fmt.Sprintf("%s / %s (slowest %s)", count(lu.requests), count(lu.failures()), lu.slowest.Round(time.Millisecond)),
		"0 failures", lu.requests > 0 && lu.failures() == 0)
	rep.info(part, "Traefik RSS before the flood", mib(before))
	rep.info(part, "Traefik peak RSS during the flood", mib(max(peakBefore, peakAfter)))
	rep.check(part, fmt.Sprintf("RSS once the cache is full (after %s requests) → peak after → end", count(base)),
		mibs(atBase, peakAfter, e.rss()),
		"peak after ≤ +max(20%, 16 MiB)", atBase > 0 && peakAfter-atBase <= max(atBase/5, 16<<20))
	end, endErr := e.runtimeStats()
	if fullErr != nil || endErr != nil {
		rep.check(part, "Traefik live heap (debug endpoints)", fmt.Sprintf("error: %v %v", fullErr, endErr), "readable", false)
	} else {
		rep.check(part, fmt.Sprintf("Traefik live heap after a forced GC: after %s requests → end", count(base)),
			fmt.Sprintf("%s (%s → %s goroutines)", mibs(full.HeapAlloc, end.HeapAlloc), count(full.Goroutines), count(end.Goroutines)),
			"end ≤ +max(10%, 4 MiB)", end.HeapAlloc-full.HeapAlloc <= max(full.HeapAlloc/10, 4<<20))
	}
	c, ok := e.logs.lastCacheReport()
	rep.check(part, "cache entries (the plugin's last size report)",
		fmt.Sprintf("%s of max %s, after %s insertions, %s evicted to make room (report found: %v)", count(c[0]), count(c[1]), count(c[2]), count(c[3]), ok),
		"≤ "+count(floodMaxEntries), ok && c[0] <= floodMaxEntries && c[1] == floodMaxEntries)
	n, r := calls(bob.job(url))
	rep.check(part, "a user who made two requests before the flood and none during it: resolver calls for the next request",
		count(n), "0 (still cached: only signed-in users are promoted, junk seen twice is not)", n == 0 && r.failures() == 0 && r.statuses[200] == 1)

	// The cache's content after the flood: the last floodMaxEntries
	// credentials again, newest first (hits make no resolver call), then one
	// twice as old, which must have been evicted.
	if sent < 3*floodMaxEntries {
		rep.info(part, "cache probe", "skipped: flood of fewer than 3 × cacheMaxEntries credentials")
	} else {
		c0 := e.Resolver.Calls()
		probe := runLoad(loadSpec{client: client, workers: 4, max: floodMaxEntries, duration: 2 * time.Minute,
			next: func(i int64) job { return junk(sent - 1 - i) }})
		hits := probe.requests - (e.Resolver.Calls() - c0)
		rep.check(part, fmt.Sprintf("probe: of the last %s flood credentials, still cached", count(floodMaxEntries)),
			count(hits), "≥ 9,800 (cacheMaxEntries minus in-flight reordering)", hits >= floodMaxEntries-200 && probe.identity.n == 0)
		n, old := calls(junk(sent - 1 - 2*floodMaxEntries))
		rep.check(part, fmt.Sprintf("probe: the credential %s credentials older was evicted (resolver calls)", count(2*floodMaxEntries)),
			count(n), "1", n == 1 && old.statuses[200] == 1)
	}
	return nil
}

// peakRSS runs f and returns the largest of Traefik's RSS readings, one a second.
func peakRSS(e *env, f func()) int64 {
	done, peak := make(chan struct{}), make(chan int64)
	go func() {
		t := time.NewTicker(time.Second)
		defer t.Stop()
		for p := e.rss(); ; p = max(p, e.rss()) {
			select {
			case <-done:
				peak <- max(p, e.rss())
				return
			case <-t.C:
			}
		}
	}()
	f()
	close(done)
	return <-peak
}
