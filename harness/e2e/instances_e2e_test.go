//go:build e2e

package e2e

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/traefik-authgear/traefik-authgear/harness/internal/stack"
	"github.com/traefik-authgear/traefik-authgear/harness/internal/standin"
)

// TestRoutersAndReloadsShareTheCache: Traefik builds a middleware per router
// and per reload. Two routers share the cache; a reload with the same
// settings keeps it warm; other settings start a new one.
func TestRoutersAndReloadsShareTheCache(t *testing.T) {
	auth := func(ttl string) []stack.Middleware {
		return []stack.Middleware{{Name: "auth", Options: map[string]any{"cacheTTL": ttl}}}
	}
	routes := routed("auth", "/a/", "/b/")
	s := startT(t, stack.Options{Middlewares: auth("60s"), Routes: routes})
	n := calls(s.Resolver)
	for _, step := range []struct {
		name   string
		reload string // reload with this cacheTTL and a router at path first
		path   string
		user   string
		calls  int64 // in all, after the step
	}{
		{"first router", "", "/a/", "alice", 1},
		{"second router", "", "/b/", "alice", 1},
		{"another user, second router", "", "/b/", "bob", 2},
		{"another user, first router", "", "/a/", "bob", 2},
		{"same settings, new router", "60s", "/probe1/", "alice", 2},
		{"same settings written differently", "1m", "/probe2/", "alice", 2},
		{"other settings", "61s", "/probe3/", "alice", 3},
	} {
		paths := []string{step.path}
		if step.reload != "" {
			routes = append(routes, routed("auth", step.path)...)
			if err := s.Reload(auth(step.reload), routes); err != nil {
				t.Fatal(err)
			}
			paths = append(paths, "/a/")
		}
		for _, p := range paths {
			get(t, s, p+"x", cookie(step.user)...).wantStatus(t, http.StatusOK).wantIdentity(t, identityOf(t, step.user))
		}
		if n() != step.calls {
			t.Errorf("%s: %d resolver calls, want %d", step.name, n(), step.calls)
		}
	}
}

// TestMistypedOptionFailsLoudly: a mistyped option (Traefik's decoder would
// drop it) is refused: Traefik logs why, the router answers 404, the others
// go on.
func TestMistypedOptionFailsLoudly(t *testing.T) {
	good := []stack.Middleware{{Name: "good"}}
	s := startT(t, stack.Options{Middlewares: good})
	for i, typo := range []struct {
		option, want string
	}{
		{"allowedRole", `unknown option \"allowedRole\": did you mean \"allowedRoles\"?`},
		{"requireSesion", `unknown option \"requireSesion\": did you mean \"requireSession\"?`},
	} {
		bad := stack.Middleware{Name: "typo", Options: map[string]any{"resolverURL": s.Resolver.URL, typo.option: "admin"}}
		// A new router through the good middleware shows the reload applied.
		goodRoutes := routed("good", "/good/", "/good-"+string(rune('a'+i))+"/")
		if err := s.Traefik.WriteDynamic(s.Dynamic(append(good, bad), append(goodRoutes, routed("typo", "/typo/")...))); err != nil {
			t.Fatal(err)
		}
		if err := s.WaitRoutes(goodRoutes, nil); err != nil {
			t.Fatal(err)
		}
		get(t, s, "/typo/x", cookie("bob")...).wantStatus(t, http.StatusNotFound)
		if logs := s.Traefik.Logs(); !strings.Contains(logs, typo.want) {
			t.Errorf("Traefik's log does not say %s:\n%s", typo.want, logs[max(0, len(logs)-2000):])
		}
	}
}

// TestRemovedRoleReachesTheBackendWithoutARequestWaiting: with
// staleWhileRevalidate a removed role takes effect after cacheTTL plus one
// request, and no request waits for the 3 s resolver.
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
