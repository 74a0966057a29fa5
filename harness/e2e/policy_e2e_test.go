//go:build e2e

package e2e

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// clearSession is the Set-Cookie with which Authgear clears a stale session
// cookie named name.
func clearSession(name string) string {
	return name + "=; Path=/; Expires=Thu, 01 Jan 1970 00:00:00 GMT; HttpOnly; SameSite=Lax"
}

// TestAccessPolicy: requireSession, rejectAnonymousUsers and allowedRoles
// answer 401 and 403 without reaching the backend, and let the right users
// through with their identity.
func TestAccessPolicy(t *testing.T) {
	e := mainEnv(t)
	for _, tc := range []struct {
		name    string
		mw      string
		headers []string
		status  int
		user    string // identity the backend gets when status is 200; "" for none
	}{
		{"require: no credential", "require", nil, 401, ""},
		{"require: unknown session", "require", []string{"Cookie", "session=stale"}, 401, ""},
		{"require: unknown token", "require", []string{"Authorization", "Bearer nobody"}, 401, ""},
		{"require: alice", "require", []string{"Cookie", "session=alice-session"}, 200, "alice"},
		{"require: carol by bearer", "require", []string{"Authorization", "Bearer carol-token"}, 200, "carol"},
		{"require: anonymous user", "require", []string{"Cookie", "session=anon-session"}, 200, "anon"},
		{"rejectAnonymousUsers: anonymous user", "noanon", []string{"Cookie", "session=anon-session"}, 401, ""},
		{"rejectAnonymousUsers: bob", "noanon", []string{"Authorization", "Bearer bob-token"}, 200, "bob"},
		{"allowedRoles: no credential", "roles", nil, 401, ""},
		{"allowedRoles: carol, no roles", "roles", []string{"Cookie", "session=carol-session"}, 403, ""},
		{"allowedRoles: bob, editor only", "roles", []string{"Cookie", "session=bob-session"}, 403, ""},
		{"allowedRoles: anonymous user", "roles", []string{"Cookie", "session=anon-session"}, 403, ""},
		{"allowedRoles: alice, admin", "roles", []string{"Cookie", "session=alice-session"}, 200, "alice"},
		{"allowedRoles: alice by app_access_token", "roles", []string{"Cookie", "app_access_token=alice-app-token"}, 200, "alice"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			hits := e.backend.hits.Load()
			r := e.get(t, "/"+tc.mw+"/x", tc.headers...).wantStatus(t, tc.status)
			if tc.status != http.StatusOK {
				if e.backend.hits.Load() != hits || r.echo != nil {
					t.Errorf("a refused request reached the backend")
				}
				if ct := r.header.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") {
					t.Errorf("refusal Content-Type %q, want text/plain", ct)
				}
				return
			}
			r.wantIdentity(t, identityOf(t, tc.user))
		})
	}
}

// TestLoginRedirect: with loginURL, a browser navigation without a session is
// redirected with the original absolute URL in redirect_uri; API calls,
// other methods and signed-in users are not.
func TestLoginRedirect(t *testing.T) {
	e := mainEnv(t)
	const html = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
	for _, tc := range []struct {
		name     string
		method   string
		headers  []string
		status   int
		redirect string // expected redirect_uri
	}{
		{"navigation", "GET", []string{"Accept", html}, 302, "http://" + e.traefik.EntryAddr + "/login/page?a=1&b=x+y"},
		{"navigation to another host", "GET", []string{"Accept", html, "Host", "app.example.test"}, 302, "http://app.example.test/login/page?a=1&b=x+y"},
		{"HEAD navigation", "HEAD", []string{"Accept", html}, 302, "http://" + e.traefik.EntryAddr + "/login/page?a=1&b=x+y"},
		{"navigation with a stale session", "GET", []string{"Accept", html, "Cookie", "session=stale"}, 302, "http://" + e.traefik.EntryAddr + "/login/page?a=1&b=x+y"},
		{"API call", "GET", []string{"Accept", "application/json"}, 401, ""},
		{"no Accept", "GET", nil, 401, ""},
		{"form POST", "POST", []string{"Accept", html}, 401, ""},
		{"signed in", "GET", []string{"Accept", html, "Cookie", "session=bob-session"}, 200, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := e.request(t, tc.method, "/login/page?a=1&b=x+y", "", tc.headers...).wantStatus(t, tc.status)
			if tc.status != http.StatusFound {
				return
			}
			loc, err := url.Parse(r.header.Get("Location"))
			if err != nil {
				t.Fatal(err)
			}
			if got := loc.Scheme + "://" + loc.Host + loc.Path; got != loginURL {
				t.Errorf("redirected to %s, want %s", r.header.Get("Location"), loginURL)
			}
			if got := loc.Query().Get("redirect_uri"); got != tc.redirect {
				t.Errorf("redirect_uri = %q, want %q", got, tc.redirect)
			}
		})
	}
}

// TestCORSPreflight: a CORS preflight carries no credentials; it reaches the
// backend through requireSession and allowedRoles without a resolver call,
// while a plain OPTIONS is refused.
func TestCORSPreflight(t *testing.T) {
	e := mainEnv(t)
	preflight := []string{
		"Origin", "https://app.example.test",
		"Access-Control-Request-Method", "POST",
		"Access-Control-Request-Headers", "authorization, content-type",
	}
	for _, mw := range []string{"require", "roles", "login"} {
		t.Run(mw, func(t *testing.T) {
			n := calls(e.resolver(t, mw))
			r := e.request(t, http.MethodOptions, "/"+mw+"/api", "", preflight...).wantStatus(t, http.StatusOK)
			if r.echo == nil || r.echo.Method != http.MethodOptions {
				t.Fatalf("preflight did not reach the backend: %q", r.body)
			}
			r.wantIdentity(t, noIdentity)
			if n() != 0 {
				t.Errorf("%d resolver calls for a preflight, want 0", n())
			}
			e.request(t, http.MethodOptions, "/"+mw+"/api", "", "Origin", "https://app.example.test").
				wantStatus(t, http.StatusUnauthorized)
		})
	}
}

// TestStaleCookieCleared: the resolver's Set-Cookie that clears an unknown
// session cookie reaches the client (also from the cache, with a prefix,
// and on a refusal), unless forwardResolverCookies is false.
func TestStaleCookieCleared(t *testing.T) {
	e := mainEnv(t)
	for _, tc := range []struct {
		name   string
		mw     string
		cookie string
		status int
		want   string // Set-Cookie, "" for none
	}{
		{"basic", "basic", "session=stale-1", 200, clearSession("session")},
		{"basic, from the cache", "basic", "session=stale-1", 200, clearSession("session")},
		{"cookie prefix", "prefixed", "myapp_session=stale-2", 200, clearSession("myapp_session")},
		{"with a 401", "require", "session=stale-3", 401, clearSession("session")},
		{"forwardResolverCookies false", "nocookies", "session=stale-4", 200, ""},
		{"valid session: no cookie", "basic", "session=alice-session", 200, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := e.get(t, "/"+tc.mw+"/x", "Cookie", tc.cookie).wantStatus(t, tc.status)
			got := r.header.Values("Set-Cookie")
			switch {
			case tc.want == "" && len(got) != 0:
				t.Errorf("client got Set-Cookie %q, want none", got)
			case tc.want != "" && (len(got) != 1 || got[0] != tc.want):
				t.Errorf("client got Set-Cookie %q, want [%q]", got, tc.want)
			}
			if tc.status == http.StatusOK && tc.want != "" {
				r.wantIdentity(t, invalidSession)
			}
		})
	}
}
