package main

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/traefik-authgear/traefik-authgear/harness/internal/stack"
)

// soakMiddleware's cacheMaxEntries is filled by the misses (a fifth of the
// requests) within the first twentieth of the run, so that it is full at
// the first measurement, a tenth into the run.
func soakMiddleware(o *options) stack.Middleware {
	n := min(max(int(float64(o.soakRate)*0.2*o.soak.Seconds()/20), 100), 5000)
	return stack.Middleware{Name: "soak", Options: map[string]any{"cacheTTL": "60s", "cacheMaxEntries": n}}
}

// runSoak sends mixed traffic at a fixed rate for o.soak: half cache hits of
// signed-in users, a fifth misses (new session cookies), a fifth anonymous,
// a tenth spoofed (a user's credential plus forged identity headers).
func runSoak(o *options, e *env, rep *report) error {
	const part = "soak"
	all := knownCredentials(e.identity)
	users, anonymous := all[:8], all[len(all)-1] // alice, bob, carol and anon by every credential source; none
	prefix, url, forged := randomPrefix("s"), e.URL("/soak/x?small=1"), spellings("X-Authgear-User-Id", false)
	stale := e.identity(http.Header{"Cookie": {"session=" + prefix}})
	next := func(i int64) job {
		c := users[(i/10)%int64(len(users))]
		j := c.job(url)
		switch k := i % 10; {
		case k >= 5 && k < 7:
			j.req, j.want = get(url, http.Header{"Cookie": {"session=" + prefix + strconv.FormatInt(i, 36)}}), stale
		case k >= 7 && k < 9:
			j = anonymous.job(url)
		case k == 9:
			j.req.Header[forged[(i/10)%int64(len(forged))]] = []string{"forged"}
			j.req.Header["X-Authgear-Session-Valid"] = []string{"true"}
		}
		return j
	}

	// Open every connection first (client, backend, resolver): measurements
	// then compare the same connections, whatever the machine's load.
	client := h1Client(32)
	if warm := runLoad(loadSpec{client: client, workers: 32, max: 3000, duration: 30 * time.Second, next: next}); warm.failures() > 0 {
		rep.check(part, "warm-up burst errors", warm.status.String()+" / "+warm.identity.String(), "0", false)
	}
	fmt.Printf("   %s at %d req/s...\n", o.soak, o.soakRate)
	// In three runs: a tenth (the cache is full), to half, to the end;
	// Traefik's memory after each.
	res := &loadResult{statuses: map[int]int64{}}
	var rss, heap [3]int64
	var goroutines []string
	var errs []error
	for k, share := range []time.Duration{o.soak / 10, o.soak * 4 / 10, o.soak / 2} {
		res.run(loadSpec{client: client, workers: 32, rate: o.soakRate, duration: share, next: next, from: res.requests})
		st, err := e.runtimeStats()
		rss[k], heap[k], goroutines, errs = e.rss(), st.HeapAlloc, append(goroutines, count(st.Goroutines)), append(errs, err)
	}
	n := soakMiddleware(o).Options["cacheMaxEntries"].(int)
	rep.info(part, "middleware", fmt.Sprintf("cacheTTL 60s, cacheMaxEntries %s (full after about %s)", count(int64(n)),
		(time.Duration(float64(n)/(0.2*float64(o.soakRate))*float64(time.Second))).Round(time.Second)))
	rep.info(part, "requests (50% hits, 20% misses, 20% anonymous, 10% spoofed)",
		fmt.Sprintf("%s in %s (%.0f req/s; %s behind schedule)", count(res.requests), res.elapsed.Round(time.Second), res.rate(), count(res.late)))
	rep.check(part, "errors (no answer, status other than 200, wrong identity)", fmt.Sprintf("%s, %s", res.status, res.identity),
		"0", res.failures() == 0 && res.requests > 0)
	rep.check(part, fmt.Sprintf("Traefik RSS at %s (start, cache full) → %s → %s", o.soak/10, o.soak/2, o.soak),
		mibs(rss[:]...), "end ≤ start + max(15%, 16 MiB)", rss[0] > 0 && rss[2]-rss[0] <= max(rss[0]*15/100, 16<<20))
	if err := errors.Join(errs...); err != nil {
		rep.check(part, "Traefik live heap (debug endpoints)", "error: "+err.Error(), "readable", false)
	} else {
		rep.check(part, "Traefik live heap after a forced GC: start → middle → end", mibs(heap[:]...)+" ("+strings.Join(goroutines, " → ")+" goroutines)",
			"end ≤ start + max(10%, 4 MiB)", heap[2]-heap[0] <= max(heap[0]/10, 4<<20))
	}
	rep.check(part, "achieved rate", fmt.Sprintf("%.0f req/s", res.rate()), fmt.Sprintf("≥ 90%% of %d", o.soakRate),
		res.rate() >= 0.9*float64(o.soakRate))
	return nil
}
