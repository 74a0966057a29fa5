//go:build e2e

package e2e

import (
	"net/http"
	"strings"
	"testing"

	"github.com/traefik-authgear/traefik-authgear/harness/internal/stack"
)

// TestRoutersAndReloadsShareTheCache: Traefik builds a middleware for each
// router that uses it, and again on each dynamic configuration reload. Two
// routers share the cache; a reload that keeps the settings keeps it warm
// (on the old router and on one it adds); one that changes them starts a
// new cache.
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

// TestMistypedOptionFailsLoudly: Traefik's decoder drops keys it cannot
// match, so a mistyped allowedRoles would load a middleware with no role
// check. The plugin refuses it: Traefik logs the reason and the router that
// uses the middleware answers 404, while the other routers go on.
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
