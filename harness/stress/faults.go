package main

import (
	"fmt"
	"net/http"
	"time"

	"github.com/traefik-authgear/traefik-authgear/harness/internal/stack"
	"github.com/traefik-authgear/traefik-authgear/harness/internal/standin"
)

// faultTimeout is the faults middleware's timeout.
const faultTimeout = 300 * time.Millisecond

// faultPhases are the ways the resolver misbehaves in turn, and what the
// clients with credentials must get meanwhile.
var faultPhases = []struct {
	name   string
	fault  standin.Fault
	refuse bool // the resolver's port refuses connections
	status int
}{
	{name: "normal", status: http.StatusOK},
	{name: "slow (1 s, timeout 300 ms)", fault: standin.Fault{Latency: time.Second}, status: http.StatusGatewayTimeout},
	{name: "hangs", fault: standin.Fault{Mode: standin.ModeHang}, status: http.StatusGatewayTimeout},
	{name: "500", fault: standin.Fault{Status: 500}, status: http.StatusBadGateway},
	{name: "404 (no app for host)", fault: standin.Fault{Status: 404}, status: http.StatusBadGateway},
	{name: "connection refused", refuse: true, status: http.StatusBadGateway},
	{name: "closes the connection", fault: standin.Fault{Mode: standin.ModeClose}, status: http.StatusBadGateway},
	{name: "reset mid-answer", fault: standin.Fault{Mode: standin.ModeReset}, status: http.StatusBadGateway},
	{name: "1 MiB header", fault: standin.Fault{Mode: standin.ModeHugeHeader}, status: http.StatusBadGateway},
}

// faultsMiddleware has cacheTTL 0, so that every request with credentials
// asks the resolver, staleIfError 0 and onResolverError reject: no identity
// may pass while the resolver fails.
var faultsMiddleware = stack.Middleware{Name: "faults", Options: map[string]any{
	"timeout": faultTimeout.String(), "cacheTTL": "0", "staleIfError": "0", "onResolverError": "reject"}}

// runFaults drives traffic from a small pool of real users (and anonymous
// clients) while the resolver misbehaves in turn.
func runFaults(o *options, e *env, rep *report) error {
	const part = "faults"
	creds, url, client := knownCredentials(e.identity), e.URL("/faults/x?small=1"), h1Client(8)
	for _, ph := range faultPhases {
		if ph.refuse {
			e.Resolver.StopListening()
		} else {
			e.Resolver.SetFault(ph.fault)
		}
		calls0 := e.Resolver.Calls()
		res := runLoad(loadSpec{client: client, workers: 8, duration: o.faultPhase, max: 2_000_000,
			next: func(i int64) job {
				c := creds[i%int64(len(creds))]
				if c.name != "no credential" && ph.status != http.StatusOK {
					return job{req: get(url, c.header), status: ph.status} // no identity may pass
				}
				return c.job(url)
			}})
		calls := e.Resolver.Calls() - calls0

		// The fault ends; resolver calls still under way end within the timeout.
		if ph.refuse {
			if err := e.Resolver.Listen(); err != nil {
				return fmt.Errorf("listen again: %w", err)
			}
		} else {
			e.Resolver.SetFault(standin.Fault{})
		}
		time.Sleep(faultTimeout + 200*time.Millisecond)
		first := one(client, creds[0].job(url))

		rep.info(part, ph.name+": requests served / answers / resolver calls",
			fmt.Sprintf("%s / %s / %s", count(res.requests), statusCounts(res.statuses), count(calls)))
		rep.check(part, ph.name+": identity errors / unexpected answers", res.identity.String()+" / "+res.status.String(),
			fmt.Sprintf("0 / 0 (want %d)", ph.status), res.failures() == 0 && res.requests > 0)
		if ph.status != http.StatusOK {
			recovered := first.failures() == 0 && first.statuses[http.StatusOK] == 1
			rep.check(part, ph.name+": first request after the fault ends",
				fmt.Sprintf("recovered %v (%s) in %s", recovered, statusCounts(first.statuses), first.elapsed.Round(time.Millisecond)), "200 with its identity", recovered)
		}
	}
	return nil
}
