//go:build e2e

package e2e

import (
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/traefik-authgear/traefik-authgear/harness/internal/standin"
)

// TestResolverFailures: a resolver that is down, too slow, hangs, closes the
// connection or answers an error status gives the client the documented 5xx
// (plain text, backend not reached) with onResolverError reject, and the
// backend a request without identity with onResolverError anonymous.
// Failures are not cached.
func TestResolverFailures(t *testing.T) {
	e := mainEnv(t)
	for _, tc := range []struct {
		name   string
		mw     string
		fault  standin.Fault
		status int // 200: passes without identity
	}{
		{"down", "down", standin.Fault{}, http.StatusBadGateway},
		{"down, anonymous", "downanon", standin.Fault{}, http.StatusOK},
		{"slower than timeout", "slow", standin.Fault{Latency: 3 * time.Second}, http.StatusGatewayTimeout},
		{"slower than timeout, anonymous", "slowanon", standin.Fault{Latency: 3 * time.Second}, http.StatusOK},
		{"hangs", "slow", standin.Fault{Mode: standin.ModeHang}, http.StatusGatewayTimeout},
		{"hangs, anonymous", "slowanon", standin.Fault{Mode: standin.ModeHang}, http.StatusOK},
		{"answers 500", "failing", standin.Fault{Status: 500}, http.StatusBadGateway},
		{"answers 404 (no app for host)", "failing", standin.Fault{Status: 404}, http.StatusBadGateway},
		{"answers 301", "failing", standin.Fault{Status: 301}, http.StatusBadGateway},
		{"closes the connection", "failing", standin.Fault{Mode: standin.ModeClose}, http.StatusBadGateway},
		{"resets the connection mid-answer", "failing", standin.Fault{Mode: standin.ModeReset}, http.StatusBadGateway},
		{"huge header", "failing", standin.Fault{Mode: standin.ModeHugeHeader}, http.StatusBadGateway},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := e.resolvers[tc.mw]
			if r != nil {
				r.SetFault(tc.fault)
				defer r.SetFault(standin.Fault{})
			}
			hits := e.backend.hits.Load()
			start := time.Now()
			got := e.raw(t, "GET", "/"+tc.mw+"/x", "Cookie: session=alice-session", "X-Authgear-User-Id: forged").wantStatus(t, tc.status)
			if d := time.Since(start); d > 2*time.Second {
				t.Errorf("answered after %s: the plugin's timeout is not enforced", d)
			}
			if tc.status == http.StatusOK {
				got.wantIdentity(t, noIdentity)
				return
			}
			if e.backend.hits.Load() != hits || got.echo != nil {
				t.Error("the request reached the backend")
			}
			if ct := got.header.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") || got.body == "" {
				t.Errorf("answer %q with Content-Type %q, want a short plain-text body", got.body, ct)
			}
			if strings.Contains(got.body, "alice-session") {
				t.Errorf("answer %q shows the credential", got.body)
			}
		})
	}

	t.Run("no credential passes while the resolver is down", func(t *testing.T) {
		e.get(t, "/down/x").wantStatus(t, http.StatusOK).wantIdentity(t, noIdentity)
	})
	t.Run("failure not cached", func(t *testing.T) {
		r := e.resolver(t, "failing")
		r.SetFault(standin.Fault{Status: 500})
		e.get(t, "/failing/x", "Cookie", "session=bob-session").wantStatus(t, http.StatusBadGateway)
		r.SetFault(standin.Fault{})
		n := calls(r)
		e.get(t, "/failing/x", "Cookie", "session=bob-session").wantStatus(t, http.StatusOK).wantIdentity(t, identityOf(t, "bob"))
		if n() != 1 {
			t.Errorf("%d resolver calls after the failure, want 1", n())
		}
	})
	if logs := e.traefik.Logs(); strings.Contains(logs, "alice-session") || strings.Contains(logs, "bob-session") {
		t.Errorf("Traefik's log shows a credential:\n%s", logs)
	}
}

// TestStaleIfError: once cacheTTL has passed, a failing resolver's last good
// answer is still used within staleIfError, and not without it.
func TestStaleIfError(t *testing.T) {
	e := mainEnv(t)
	alice := identityOf(t, "alice")
	for _, mw := range []string{"stale", "nostale"} {
		e.get(t, "/"+mw+"/x", "Cookie", "session=alice-session").wantStatus(t, http.StatusOK).wantIdentity(t, alice)
		e.resolver(t, mw).SetFault(standin.Fault{Status: 500})
		defer e.resolver(t, mw).SetFault(standin.Fault{})
	}
	time.Sleep(1200 * time.Millisecond) // past cacheTTL 1s

	n := calls(e.resolver(t, "stale"))
	e.get(t, "/stale/x", "Cookie", "session=alice-session").wantStatus(t, http.StatusOK).wantIdentity(t, alice)
	if n() != 1 {
		t.Errorf("%d resolver calls for an expired entry, want 1 (tried, failed, stale used)", n())
	}
	e.get(t, "/stale/x", "Cookie", "session=bob-session").wantStatus(t, http.StatusBadGateway)
	e.get(t, "/nostale/x", "Cookie", "session=alice-session").wantStatus(t, http.StatusBadGateway)
}

// TestConcurrentMissesShareOneCall: many simultaneous requests with the same
// new credentials make one resolver call.
func TestConcurrentMissesShareOneCall(t *testing.T) {
	e := mainEnv(t)
	r := e.resolver(t, "slow") // timeout 300ms, cacheTTL 0: nothing is kept after the call
	r.SetFault(standin.Fault{Latency: 150 * time.Millisecond})
	defer r.SetFault(standin.Fault{})
	carol := identityOf(t, "carol")
	n := calls(r)
	var wg sync.WaitGroup
	errs := make(chan error, 20)
	for i := 0; i < 20; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs <- e.checkIdentity("/slow/x", []string{"Cookie", "session=carol-session"}, carol)
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	// Requests that arrive after the shared call has finished start another;
	// 20 requests within 150 ms should share one or two.
	if got := n(); got < 1 || got > 2 {
		t.Errorf("%d resolver calls for 20 concurrent misses, want 1 (2 at most on a slow machine)", got)
	}
}
