package main

import (
	"fmt"
	"net/http"
	"time"

	"github.com/traefik-authgear/traefik-authgear/harness/internal/standin"
)

// faultTimeout is the faults middleware's timeout.
const faultTimeout = 300 * time.Millisecond

// faultPhase is one way the resolver misbehaves, and what the clients with
// credentials must get meanwhile.
type faultPhase struct {
	name   string
	fault  standin.Fault
	refuse bool // the resolver's port refuses connections
	status int
}

var faultPhases = []faultPhase{
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

// runFaults drives traffic from a small pool of real users (and anonymous
// clients) while the resolver misbehaves in turn, with cacheTTL 0 so that
// every request with credentials asks the resolver, staleIfError 0 and
// onResolverError reject: no identity may pass while the resolver fails.
func runFaults(o *options, rep *report) error {
	const part = "faults"
	s, err := startStack([]mwSpec{{name: "faults", options: []string{
		"timeout: " + faultTimeout.String(), "cacheTTL: 0", "staleIfError: 0", "onResolverError: reject"}}})
	if err != nil {
		return err
	}
	defer s.close()
	creds := knownCredentials(s.oracle)
	url := s.url("/faults/x?small=1")
	client := newClient(8)

	for _, ph := range faultPhases {
		if ph.refuse {
			s.resolver.stopListening()
		} else {
			s.resolver.SetFault(ph.fault)
		}
		faulty := ph.status != http.StatusOK
		calls0 := s.resolver.Calls()
		res := runLoad(loadSpec{
			client:   client,
			workers:  8,
			duration: o.faultPhase,
			max:      2_000_000,
			next: func(i int64) job {
				c := creds[i%int64(len(creds))]
				j := job{req: get(url, c.header), want: c.want, status: ph.status}
				if c.name == "no credential" {
					j.status = http.StatusOK
				} else {
					j.failing = faulty
				}
				return j
			},
		})
		calls := s.resolver.Calls() - calls0

		// The fault ends; resolver calls still under way end within the timeout.
		if ph.refuse {
			if err := s.resolver.listen(); err != nil {
				return fmt.Errorf("listen again: %w", err)
			}
		} else {
			s.resolver.SetFault(standin.Fault{})
		}
		time.Sleep(faultTimeout + 200*time.Millisecond)
		recovered, took := firstRequest(client, url, creds[0])

		rep.info(part, ph.name+": requests served / answers / resolver calls",
			fmt.Sprintf("%s / %s / %s", count(res.requests), statusCounts(res.statuses), count(calls)))
		rep.check(part, ph.name+": identity errors / unexpected answers",
			fmt.Sprintf("%s / %s%s", count(res.identityErrors), count(res.statusErrors), firstExample(res.examples)),
			fmt.Sprintf("0 / 0 (want %d)", ph.status), res.identityErrors == 0 && res.statusErrors == 0 && res.requests > 0)
		if faulty {
			rep.check(part, ph.name+": first request after the fault ends", recovered+" in "+took.Round(time.Millisecond).String(),
				"200 with its identity", recovered == "recovered")
		}
	}
	s.health(rep, part)
	return nil
}

// firstRequest sends one request with the credential and says whether it got
// 200 with the credential's identity.
func firstRequest(client *http.Client, url string, c credential) (string, time.Duration) {
	start := time.Now()
	res := runLoad(loadSpec{client: client, workers: 1, max: 1, duration: 30 * time.Second,
		next: func(int64) job { return job{req: get(url, c.header), want: c.want, status: http.StatusOK} }})
	took := time.Since(start)
	if res.statuses[http.StatusOK] == 1 && res.identityErrors == 0 && res.statusErrors == 0 {
		return "recovered", took
	}
	return "not recovered (" + statusCounts(res.statuses) + firstExample(res.examples) + ")", took
}

// firstExample renders the first example of a failure, if any.
func firstExample(examples []string) string {
	if len(examples) == 0 {
		return ""
	}
	return " (" + examples[0] + ")"
}
