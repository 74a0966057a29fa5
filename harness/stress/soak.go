package main

import (
	"fmt"
	"net/http"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/traefik-authgear/traefik-authgear/harness/internal/harness"
	"github.com/traefik-authgear/traefik-authgear/harness/internal/stack"
)

// soakMaxEntries is the soak middleware's cacheMaxEntries: the misses (a
// fifth of the requests) fill it within the first twentieth of the run, so
// that it is full at the first measurement, a tenth into the run.
func soakMaxEntries(o *options) int {
	n := int(float64(o.soakRate) * 0.2 * o.soak.Seconds() / 20)
	return min(max(n, 100), 5000)
}

// runSoak sends mixed traffic at a fixed rate for o.soak: half cache hits of
// signed-in users, a fifth misses (new session cookies), a fifth anonymous,
// a tenth spoofed (a user's credential plus forged identity headers).
func runSoak(o *options, rep *report) error {
	const part = "soak"
	e, err := startEnv(harness.Options{ExtraStatic: debugStatic},
		stack.Middleware{Name: "soak", Options: map[string]any{"cacheTTL": "60s", "cacheMaxEntries": soakMaxEntries(o)}})
	if err != nil {
		return err
	}
	defer e.Stop()
	all := knownCredentials(e.oracle)
	users := all[:8] // alice, bob, carol and anon, by every credential source
	anonymous := all[len(all)-1]
	prefix := randomPrefix("s")
	stale := e.oracle.identity(http.Header{"Cookie": {"session=" + prefix}})
	forged := spellings("X-Authgear-User-Id", false)
	url := e.URL("/soak/x?small=1")

	next := func(i int64) job {
		c := users[(i/10)%int64(len(users))]
		j := job{req: get(url, c.header), want: c.want, status: http.StatusOK}
		switch k := i % 10; {
		case k >= 5 && k < 7:
			j.req, j.want = get(url, http.Header{"Cookie": {"session=" + prefix + strconv.FormatInt(i, 36)}}), stale
		case k >= 7 && k < 9:
			j.req, j.want = get(url, anonymous.header), anonymous.want
		case k == 9:
			j.req.Header[forged[(i/10)%int64(len(forged))]] = []string{"forged"}
			j.req.Header["X-Authgear-Session-Valid"] = []string{"true"}
		}
		return j
	}

	// Open every client connection first (and with them Traefik's to the
	// backend and the plugin's to the resolver): later measurements then
	// compare the same number of connections, whatever the machine's load.
	client := h1Client(32)
	if warm := runLoad(loadSpec{client: client, workers: 32, max: 3000, duration: 30 * time.Second, next: next}); warm.failures() > 0 {
		rep.check(part, "warm-up burst errors", warm.status.String()+" / "+warm.identity.String(), "0", false)
	}
	fmt.Printf("   %s at %d req/s...\n", o.soak, o.soakRate)
	var sent atomic.Int64
	samples := sampleRSS(e, 5*time.Second, &sent)
	planned := int64(o.soak.Seconds() * float64(o.soakRate))
	atStart, atMiddle := statsAt(e, &sent, planned/10), statsAt(e, &sent, planned/2)
	res := runLoad(loadSpec{client: client, workers: 32, rate: o.soakRate, duration: o.soak, next: next, sent: &sent})
	rss := samples()
	st0, err0 := atStart()
	st1, err1 := atMiddle()
	st2, err2 := e.runtimeStats()

	// At a fixed rate, a tenth of the requests is a tenth of the time.
	start, middle, end := rssAt(rss, planned/10), rssAt(rss, planned/2), rssAt(rss, planned)
	rep.info(part, "middleware", fmt.Sprintf("cacheTTL 60s, cacheMaxEntries %s (full after about %s)", count(int64(soakMaxEntries(o))),
		(time.Duration(float64(soakMaxEntries(o))/(0.2*float64(o.soakRate))*float64(time.Second))).Round(time.Second)))
	rep.info(part, "requests (50% hits, 20% misses, 20% anonymous, 10% spoofed)",
		fmt.Sprintf("%s in %s (%.0f req/s; %s behind schedule)", count(res.requests), res.elapsed.Round(time.Second), res.rate(), count(res.late)))
	rep.check(part, "errors (no answer, status other than 200, wrong identity)", fmt.Sprintf("%s, %s", res.status, res.identity),
		"0", res.failures() == 0 && res.requests > 0)
	rep.check(part, fmt.Sprintf("Traefik RSS at %s (start, cache full) → %s → %s", o.soak/10, o.soak/2, o.soak),
		fmt.Sprintf("%s → %s → %s", mib(start), mib(middle), mib(end)),
		"end ≤ start + max(15%, 16 MiB)", start > 0 && end-start <= max(start*15/100, 16<<20))
	if err0 != nil || err1 != nil || err2 != nil {
		rep.check(part, "Traefik live heap (debug endpoints)", fmt.Sprintf("error: %v %v %v", err0, err1, err2), "readable", false)
	} else {
		rep.check(part, "Traefik live heap after a forced GC: start → middle → end",
			fmt.Sprintf("%s → %s → %s (%s → %s → %s goroutines)", mib(st0.liveHeap), mib(st1.liveHeap), mib(st2.liveHeap),
				count(st0.goroutines), count(st1.goroutines), count(st2.goroutines)),
			"end ≤ start + max(10%, 4 MiB)", st2.liveHeap-st0.liveHeap <= max(st0.liveHeap/10, 4<<20))
	}
	rep.check(part, "achieved rate", fmt.Sprintf("%.0f req/s", res.rate()), fmt.Sprintf("≥ 90%% of %d", o.soakRate),
		res.rate() >= 0.9*float64(o.soakRate))
	e.health(rep, part)
	return nil
}
