//go:build e2e

package e2e

import (
	"net/http"
	"testing"
	"time"

	"github.com/traefik-authgear/traefik-authgear/harness/internal/stack"
	"github.com/traefik-authgear/traefik-authgear/harness/internal/standin"
)

// TestRemovedRoleReachesTheBackendWithoutARequestWaiting: with a short
// cacheTTL and staleWhileRevalidate, a role removed at Authgear takes effect
// within cacheTTL plus one request, while every request is answered from the
// cache at once, even with a resolver that takes 3 s to answer.
func TestRemovedRoleReachesTheBackendWithoutARequestWaiting(t *testing.T) {
	s := startT(t, stack.Options{Middlewares: []stack.Middleware{
		{Name: "fresh", Options: map[string]any{"cacheTTL": "1s", "staleWhileRevalidate": "5m", "allowedRoles": "admin"}},
	}})
	r := s.Resolver
	get(t, s, "/fresh/x", cookie("alice")...).wantStatus(t, http.StatusOK)

	users := r.Users()
	for i := range users {
		if users[i].ID == identityOf(t, "alice")["x-authgear-user-id"] {
			users[i].Roles = []string{"editor"}
		}
	}
	r.SetUsers(users)
	r.SetFault(standin.Fault{Latency: 3 * time.Second})
	time.Sleep(1200 * time.Millisecond) // cacheTTL passes

	sawOld, sawNew := false, false
	for deadline := time.Now().Add(15 * time.Second); time.Now().Before(deadline) && !sawNew; {
		start := time.Now()
		rep := get(t, s, "/fresh/x", cookie("alice")...)
		if took := time.Since(start); took > 2*time.Second {
			t.Fatalf("a request took %s: it waited for the resolver", took)
		}
		switch rep.status {
		case http.StatusOK:
			sawOld = true
		case http.StatusForbidden:
			sawNew = true
		default:
			t.Fatalf("status %d %q", rep.status, rep.body)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if !sawOld || !sawNew {
		t.Fatalf("served the cached answer: %v; then the refreshed one (403): %v", sawOld, sawNew)
	}
	if got := r.Calls(); got != 2 {
		t.Errorf("resolver calls = %d, want 2: the miss and one background refresh", got)
	}
}
