//go:build e2e

package e2e

import (
	"net/http"
	"strings"
	"testing"
)

// TestMistypedOptionFailsLoudly: Traefik's decoder drops keys it cannot
// match, so a mistyped allowedRoles would load a middleware with no role
// check. The plugin refuses it: Traefik logs the reason and the router that
// uses the middleware answers 404, while the other routers go on.
func TestMistypedOptionFailsLoudly(t *testing.T) {
	good := middleware{name: "good", routes: []string{"/good/"}}
	e := startEnvT(t, []middleware{good})
	for _, typo := range []struct {
		option, want string
	}{
		{`allowedRole: "admin"`, `unknown option \"allowedRole\": did you mean \"allowedRoles\"?`},
		{`requireSesion: "true"`, `unknown option \"requireSesion\": did you mean \"requireSession\"?`},
	} {
		bad := middleware{name: "typo", options: []string{typo.option}, routes: []string{"/typo/"}}
		good.routes = append(good.routes, "/good-"+strings.Fields(typo.option)[0][:5]+"/")
		if err := e.traefik.WriteDynamic(e.config([]middleware{good, bad})); err != nil {
			t.Fatal(err)
		}
		if err := e.waitRoutes([]middleware{good}); err != nil {
			t.Fatal(err)
		}
		e.get(t, "/typo/x", "Cookie", "session=bob-session").wantStatus(t, http.StatusNotFound)
		if logs := e.traefik.Logs(); !strings.Contains(logs, typo.want) {
			t.Errorf("Traefik's log does not say %s:\n%s", typo.want, tail(logs, 2000))
		}
	}
}

// tail returns the last n bytes of s.
func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}
