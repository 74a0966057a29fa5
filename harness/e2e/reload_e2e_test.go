//go:build e2e

package e2e

import (
	"net/http"
	"testing"
)

// TestReloadKeepsCache: Traefik rebuilds every middleware on each dynamic
// configuration reload. A reload that keeps the middleware's settings keeps
// its cache warm; one that changes them starts a new cache.
func TestReloadKeepsCache(t *testing.T) {
	mw := middleware{name: "auth", options: []string{"cacheTTL: 60s"}, routes: []string{"/auth/"}}
	e := startEnvT(t, []middleware{mw})
	n := calls(e.resolver(t, "auth"))
	alice := identityOf(t, "alice")
	aliceCookie := []string{"Cookie", "session=alice-session"}
	e.get(t, "/auth/x", aliceCookie...).wantStatus(t, http.StatusOK).wantIdentity(t, alice)

	for _, step := range []struct {
		name      string
		options   []string
		newRoute  string // a route the reload adds, to see that it is applied
		wantCalls int64
	}{
		{"same settings, new router", []string{"cacheTTL: 60s"}, "/probe1/", 1},
		{"same settings written differently", []string{"cacheTTL: 1m"}, "/probe2/", 1},
		{"other settings", []string{"cacheTTL: 61s"}, "/probe3/", 2},
	} {
		mw.options = step.options
		mw.routes = append(mw.routes, step.newRoute)
		if err := e.traefik.WriteDynamic(e.config([]middleware{mw})); err != nil {
			t.Fatal(err)
		}
		if err := e.waitRoutes([]middleware{mw}); err != nil {
			t.Fatal(err)
		}
		e.get(t, "/auth/x", aliceCookie...).wantStatus(t, http.StatusOK).wantIdentity(t, alice)
		e.get(t, step.newRoute+"x", aliceCookie...).wantStatus(t, http.StatusOK).wantIdentity(t, alice)
		if n() != step.wantCalls {
			t.Errorf("after a reload with %s: %d resolver calls, want %d", step.name, n(), step.wantCalls)
		}
	}
}
