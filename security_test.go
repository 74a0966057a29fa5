// Traefik v3.6 is built with go >= 1.24, so its cookie parser reads no cookie
// at all from a request with more than 3,000 of them. The plugin's go.mod
// says go 1.22, which would turn that limit off in these tests: run the
// parser Traefik runs. (tools/yaegi-test.sh sets the same in GODEBUG.)
//go:debug httpcookiemaxnum=3000

package authgear_test

import (
	"net/http"
	"strings"
	"testing"

	authgear "github.com/traefik-authgear/traefik-authgear"
)

// oversizedCookie is a Cookie header that Go's parser, with Traefik's limit,
// reads as no cookie at all, but that an HTTP/2 hop turns into a valid
// session cookie (the empty crumbs are dropped).
func oversizedCookie(session string) string {
	return strings.Repeat(";", 3001) + "session=" + session
}

func TestOversizedCookieHeaderCannotPlantAnIdentity(t *testing.T) {
	if _, err := (request{header: map[string]string{"Cookie": oversizedCookie("user:alice")}}).build().Cookie("session"); err == nil {
		t.Fatal("the cookie parser read a cookie from 3,002 cookies: the tests do not run Traefik's parser (httpcookiemaxnum=3000)")
	}
	for _, proto := range []string{"HTTP/1.1 resolver", "HTTP/2 resolver"} {
		t.Run(proto, func(t *testing.T) {
			f, ca := newFakeResolver(t), ""
			if proto == "HTTP/2 resolver" {
				f, ca = newTLSResolver(t)
			}
			h, rec := newNamed(t, f, t.Name(), func(c *authgear.Config) { c.TLS.CA = ca; c.RequireSession = true })
			// A shared, non-secret Authorization value with alice's session behind 3,001 empty cookies.
			w, s := do(h, rec, request{header: map[string]string{"Authorization": "Bearer undefined", "Cookie": oversizedCookie("user:alice")}})
			if s.called || w.Code != http.StatusUnauthorized {
				t.Fatalf("oversized cookie: status %d, backend saw %v; want 401, not reached", w.Code, s.identity)
			}
			if got := f.lastRequest(t).header.Values("Cookie"); len(got) != 0 {
				t.Fatalf("the resolver was sent Cookie %q for a request whose cookies the plugin could not read", got)
			}
			// Everyone else sending the same Authorization value.
			w, s = do(h, rec, request{header: map[string]string{"Authorization": "Bearer undefined"}})
			if s.called || w.Code != http.StatusUnauthorized {
				t.Fatalf("victim: status %d, backend saw %v; want 401", w.Code, s.identity)
			}
		})
	}
}
