package main

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/http"
	"strconv"
	"sync/atomic"
	"time"
)

// floodMaxEntries is the flood middleware's cacheMaxEntries.
const floodMaxEntries = 10000

// runFlood sends requests that each carry a new random session cookie
// through a middleware with cacheMaxEntries 10000, while a legitimate user
// keeps using the site, and watches Traefik's memory.
func runFlood(o *options, rep *report) error {
	const part = "flood"
	// DEBUG: Traefik logs the plugin's stdout, where the cache reports its
	// size every 10,000 insertions.
	// A cacheTTL longer than the flood, so that the returning user's entry
	// is still fresh after it: what is measured is eviction, not expiry.
	s, err := startStackWith([]mwSpec{{name: "flood", options: []string{"cacheTTL: 30m", fmt.Sprintf("cacheMaxEntries: %d", floodMaxEntries)}}},
		stackOptions{logLevel: "DEBUG", extraStatic: debugStatic})
	if err != nil {
		return err
	}
	defer s.close()

	nonce := make([]byte, 6)
	_, _ = rand.Read(nonce)
	prefix := "f" + hex.EncodeToString(nonce) + "-"
	url := s.url("/flood/x?small=1")
	cookieOf := func(i int64) http.Header {
		return http.Header{"Cookie": {"session=" + prefix + strconv.FormatInt(i, 36)}}
	}
	stale := s.oracle.identity(cookieOf(0)) // every flood cookie is an unknown session

	client := newClient(o.floodWorkers)
	// A user who made two requests before the flood and none during it.
	returning := http.Header{"Cookie": {"session=bob-session"}}
	returningID := s.oracle.identity(returning)
	once := func() (calls int64, ok bool) {
		c0 := s.resolver.Calls()
		r := runLoad(loadSpec{client: client, workers: 1, max: 1, duration: time.Minute,
			next: func(int64) job { return job{req: get(url, returning), want: returningID} }})
		return s.resolver.Calls() - c0, r.statuses[200] == 1 && r.identityErrors == 0
	}
	once()
	once()
	var sent atomic.Int64
	before := s.rss()
	sampler := sampleRSS(s, time.Second, &sent)
	legit := startLegitUser(s, "/flood/x?small=1", 100*time.Millisecond)
	base := max64(2*floodMaxEntries, o.floodRequests/10)
	atFull := statsAt(s, &sent, base)
	calls0 := s.resolver.Calls()
	fmt.Printf("   flooding with %s requests, %d connections...\n", count(o.floodRequests), o.floodWorkers)
	res := runLoad(loadSpec{
		client:   client,
		workers:  o.floodWorkers,
		max:      o.floodRequests,
		duration: 12 * time.Minute, // keeps make stress within 30 minutes on a slow machine
		sent:     &sent,
		next:     func(i int64) job { return job{req: get(url, cookieOf(i)), want: stale} },
	})
	lu := legit.finish()
	samples := sampler.finish()
	calls := s.resolver.Calls() - calls0

	rep.check(part, "requests with a new random session cookie", count(res.requests),
		"= "+count(o.floodRequests), res.requests == o.floodRequests)
	rep.info(part, "throughput", fmt.Sprintf("%.0f req/s over %s", res.rate(), res.elapsed.Round(time.Second)))
	rep.check(part, "answers", statusCounts(res.statuses), "all 200", res.statuses[200] == res.requests)
	rep.check(part, "identity errors", count(res.identityErrors), "0", res.identityErrors == 0)
	rep.info(part, "resolver calls", count(calls))
	rep.check(part, "legitimate user during the flood: requests / failures",
		fmt.Sprintf("%s / %s (slowest %s)", count(lu.requests), count(lu.failures), lu.slowest.Round(time.Millisecond)),
		"0 failures", lu.requests > 0 && lu.failures == 0)

	atBase := rssAt(samples, base)
	peakAfter := peakRSS(samples, base)
	end := rssAt(samples, o.floodRequests)
	rep.info(part, "Traefik RSS before the flood", mib(before))
	rep.info(part, "Traefik peak RSS during the flood", mib(peakRSS(samples, 0)))
	growth := peakAfter - atBase
	allowed := max64(atBase/5, 16<<20)
	rep.check(part, fmt.Sprintf("RSS once the cache is full (after %s requests) → peak after → end", count(base)),
		fmt.Sprintf("%s → %s → %s", mib(atBase), mib(peakAfter), mib(end)),
		"peak after ≤ +max(20%, 16 MiB)", atBase > 0 && growth <= allowed)
	full, fullErr := atFull()
	end2, endErr := s.runtimeStats()
	if fullErr != nil || endErr != nil {
		rep.check(part, "Traefik live heap (debug endpoints)", fmt.Sprintf("error: %v %v", fullErr, endErr), "readable", false)
	} else {
		rep.check(part, fmt.Sprintf("Traefik live heap after a forced GC: after %s requests → end", count(base)),
			fmt.Sprintf("%s → %s (%s → %s goroutines)", mib(full.liveHeap), mib(end2.liveHeap), count(full.goroutines), count(end2.goroutines)),
			"end ≤ +max(10%, 4 MiB)", end2.liveHeap-full.liveHeap <= max64(full.liveHeap/10, 4<<20))
	}
	if entries, maxEntries, inserts, evicted, ok := s.logs.lastCacheReport(); ok {
		rep.check(part, "cache entries (the plugin's last size report)",
			fmt.Sprintf("%s of max %s, after %s insertions, %s evicted to make room", count(entries), count(maxEntries), count(inserts), count(evicted)),
			"≤ "+count(floodMaxEntries), entries <= floodMaxEntries && maxEntries == floodMaxEntries)
	} else {
		rep.check(part, "cache entries (the plugin's last size report)", "no report in Traefik's DEBUG log", "a report", false)
	}
	returnCalls, returnOK := once()
	rep.check(part, "a user who made two requests before the flood and none during it: resolver calls for the next request",
		count(returnCalls), "0 (still cached: the segmented LRU protects returning users)", returnCalls == 0 && returnOK)
	if err := probeCache(s, rep, client, cookieOf, res.requests); err != nil {
		return err
	}
	s.health(rep, part)
	return nil
}

// probeCache infers the cache's content after the flood: it asks again for
// the last floodMaxEntries credentials, newest first (hits make no resolver
// call), then for one twice as old, which must have been evicted.
func probeCache(s *stack, rep *report, client *http.Client, cookieOf func(int64) http.Header, n int64) error {
	const part = "flood"
	if n < 3*floodMaxEntries {
		rep.info(part, "cache probe", "skipped: flood shorter than 3 × cacheMaxEntries")
		return nil
	}
	url := s.url("/flood/x?small=1")
	stale := s.oracle.identity(cookieOf(0))
	calls0 := s.resolver.Calls()
	res := runLoad(loadSpec{
		client:   client,
		workers:  4,
		max:      floodMaxEntries,
		duration: 2 * time.Minute,
		next:     func(i int64) job { return job{req: get(url, cookieOf(n-1-i)), want: stale} },
	})
	hits := res.requests - (s.resolver.Calls() - calls0)
	rep.check(part, fmt.Sprintf("probe: of the last %s flood credentials, still cached", count(floodMaxEntries)),
		count(hits), "≥ 9,800 (cacheMaxEntries minus in-flight reordering)", hits >= floodMaxEntries-200 && res.identityErrors == 0)

	calls1 := s.resolver.Calls()
	old := runLoad(loadSpec{client: client, workers: 1, max: 1, duration: time.Minute,
		next: func(int64) job { return job{req: get(url, cookieOf(n-1-2*floodMaxEntries)), want: stale} }})
	evicted := s.resolver.Calls() - calls1
	rep.check(part, fmt.Sprintf("probe: credential %s requests old was evicted (resolver calls)", count(2*floodMaxEntries)),
		count(evicted), "1", evicted == 1 && old.statuses[200] == 1)
	return nil
}

func max64(a, b int64) int64 {
	if a > b {
		return a
	}
	return b
}

// statsAt reads Traefik's runtime figures once progress reaches n, in the
// background; the returned function waits for them (or gives up after the
// run if progress never got there).
func statsAt(s *stack, progress *atomic.Int64, n int64) func() (runtimeStats, error) {
	type result struct {
		st  runtimeStats
		err error
	}
	ch := make(chan result, 1)
	stop := make(chan struct{})
	go func() {
		for progress.Load() < n {
			select {
			case <-stop:
				ch <- result{err: fmt.Errorf("the run ended before %s requests", count(n))}
				return
			case <-time.After(100 * time.Millisecond):
			}
		}
		st, err := s.runtimeStats()
		ch <- result{st, err}
	}()
	return func() (runtimeStats, error) {
		close(stop)
		r := <-ch
		return r.st, r.err
	}
}
