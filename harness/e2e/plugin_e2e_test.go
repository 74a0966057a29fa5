//go:build e2e

package e2e

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/traefik-authgear/traefik-authgear/harness/internal/standin"
)

// clearSession is the Set-Cookie with which Authgear clears a stale session
// cookie named name.
func clearSession(name string) string {
	return name + "=; Path=/; Expires=Thu, 01 Jan 1970 00:00:00 GMT; HttpOnly; SameSite=Lax"
}

// TestPluginInTraefik sends one request per row through the shared stack:
// a smoke of each area of the plugin (credentials, cookies, policy, login
// redirect, CORS preflight, resolver failures) with its options decoded by
// Traefik from the file provider, and the cases the root package's unit
// tables do not have. Every answer is quick; a refusal does not reach the
// backend and is short plain text without the credential; an answer from
// the backend carries exactly the identity of user, and the client gets
// exactly the Set-Cookie of cookie.
func TestPluginInTraefik(t *testing.T) {
	s := mainStack(t)
	const html = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
	page := "/login/page?a=1&b=x+y"
	entry := "http://" + s.Traefik.EntryAddr + page
	alice := append(cookie("alice"), "X-Authgear-User-Id", "forged")
	preflight := []string{"Origin", "https://app.example.test", "Access-Control-Request-Method", "POST", "Access-Control-Request-Headers", "authorization, content-type"}
	for _, tc := range []struct {
		name     string
		mw       string // the request goes to /<mw>/x, or to path
		path     string
		method   string
		headers  []string
		fault    standin.Fault // the middleware's stand-in has it for the row
		status   int
		user     string // with 200: whose identity the backend gets ("" none, "invalid")
		cookie   string // the Set-Cookie the client gets
		redirect string // with 302: the redirect_uri
		noCall   bool   // the resolver must not be called
	}{
		{name: "bearer", mw: "basic", headers: []string{"Authorization", "Bearer alice-token"}, status: 200, user: "alice"},
		{name: "session cookie", mw: "basic", headers: cookie("bob"), status: 200, user: "bob"},
		{name: "prefixed session cookie", mw: "prefixed", headers: []string{"Cookie", "myapp_session=alice-session"}, status: 200, user: "alice"},
		{name: "prefixed app_access_token cookie", mw: "prefixed", headers: []string{"Cookie", "myapp_app_access_token=bob-app-token"}, status: 200, user: "bob"},
		{name: "bearer wins over session", mw: "nocache", headers: []string{"Authorization", "Bearer bob-token", "Cookie", "session=alice-session"}, status: 200, user: "bob"},
		{name: "anonymous user", mw: "nocache", headers: cookie("anon"), status: 200, user: "anon"},

		{name: "stale session cleared", mw: "basic", headers: []string{"Cookie", "session=stale-1"}, status: 200, user: "invalid", cookie: clearSession("session")},
		{name: "stale prefixed session cleared", mw: "prefixed", headers: []string{"Cookie", "myapp_session=stale-2"}, status: 200, user: "invalid", cookie: clearSession("myapp_session")},
		{name: "forwardResolverCookies false", mw: "nocookies", headers: []string{"Cookie", "session=stale-4"}, status: 200, user: "invalid"},

		{name: "requireSession: alice", mw: "require", headers: cookie("alice"), status: 200, user: "alice"},
		{name: "requireSession: stale session", mw: "require", headers: []string{"Cookie", "session=stale-3"}, status: 401, cookie: clearSession("session")},
		{name: "rejectAnonymousUsers: bob", mw: "noanon", headers: []string{"Authorization", "Bearer bob-token"}, status: 200, user: "bob"},
		{name: "rejectAnonymousUsers: anonymous user", mw: "noanon", headers: cookie("anon"), status: 401},
		{name: "allowedRoles: no credential", mw: "roles", status: 401},
		{name: "allowedRoles: bob, editor only", mw: "roles", headers: cookie("bob"), status: 403},
		{name: "allowedRoles: anonymous user", mw: "roles", headers: cookie("anon"), status: 403},
		{name: "allowedRoles: alice by app_access_token", mw: "roles", headers: []string{"Cookie", "app_access_token=alice-app-token"}, status: 200, user: "alice"},

		{name: "login: navigation", path: page, headers: []string{"Accept", html}, status: 302, redirect: entry},
		{name: "login: navigation to another host", path: page, headers: []string{"Accept", html, "Host", "app.example.test"}, status: 302, redirect: "http://app.example.test" + page},
		{name: "login: HEAD navigation", path: page, method: http.MethodHead, headers: []string{"Accept", html}, status: 302, redirect: entry},
		{name: "login: navigation with a stale session", path: page, headers: []string{"Accept", html, "Cookie", "session=stale-5"}, status: 302, redirect: entry, cookie: clearSession("session")},
		{name: "login: no Accept", path: page, status: 401},
		{name: "login: signed in", path: page, headers: append(cookie("bob"), "Accept", html), status: 200, user: "bob"},

		{name: "CORS preflight: requireSession", mw: "require", method: http.MethodOptions, headers: preflight, status: 200, noCall: true},
		{name: "CORS preflight: allowedRoles", mw: "roles", method: http.MethodOptions, headers: preflight, status: 200, noCall: true},
		{name: "CORS preflight: loginURL", mw: "login", method: http.MethodOptions, headers: preflight, status: 200, noCall: true},

		{name: "resolver down", mw: "down", headers: alice, status: 502},
		{name: "resolver down, anonymous", mw: "downanon", headers: alice, status: 200},
		{name: "resolver down, no credential", mw: "down", status: 200},
		{name: "resolver slower than timeout", mw: "slow", headers: alice, fault: standin.Fault{Latency: 3 * time.Second}, status: 504},
		{name: "resolver closes the connection", mw: "failing", headers: alice, fault: standin.Fault{Mode: standin.ModeClose}, status: 502},
		{name: "resolver resets the connection mid-answer", mw: "failing", headers: alice, fault: standin.Fault{Mode: standin.ModeReset}, status: 502},
		{name: "resolver answers a huge header", mw: "failing", headers: alice, fault: standin.Fault{Mode: standin.ModeHugeHeader}, status: 502},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := "/" + tc.mw + "/x"
			if tc.path != "" {
				path = tc.path
				tc.mw = strings.Split(path, "/")[1]
			}
			r := s.Resolvers[tc.mw]
			if r != nil {
				r.SetFault(tc.fault)
				defer r.SetFault(standin.Fault{})
			}
			method := tc.method
			if method == "" {
				method = http.MethodGet
			}
			hits, start := s.Backend.Hits.Load(), time.Now()
			var n func() int64
			if r != nil {
				n = calls(r)
			}
			got := request(t, s, method, path, "", tc.headers...).wantStatus(t, tc.status)
			if d := time.Since(start); d > 2*time.Second {
				t.Errorf("answered after %s: the plugin's timeout is not enforced", d)
			}
			if tc.noCall && n() != 0 {
				t.Errorf("%d resolver calls, want 0", n())
			}
			if c := strings.Join(got.header.Values("Set-Cookie"), " | "); c != tc.cookie {
				t.Errorf("client got Set-Cookie %q, want %q", c, tc.cookie)
			}
			switch {
			case tc.status == http.StatusOK:
				got.wantIdentity(t, identityOf(t, tc.user))
			case s.Backend.Hits.Load() != hits || got.echo != nil:
				t.Error("a refused request reached the backend")
			case tc.status == http.StatusFound:
				wantRedirect(t, got, tc.redirect)
			case !strings.HasPrefix(got.header.Get("Content-Type"), "text/plain") || got.body == "" || strings.Contains(got.body, "alice-session"):
				t.Errorf("refusal %q with Content-Type %q, want a short plain-text body without the credential", got.body, got.header.Get("Content-Type"))
			}
		})
	}
	if logs := s.Traefik.Logs(); strings.Contains(logs, "alice-session") || strings.Contains(logs, "bob-session") {
		t.Errorf("Traefik's log shows a credential:\n%s", logs)
	}
}

// wantRedirect checks that r sends the client to loginURL with redirectURI.
func wantRedirect(t *testing.T, r reply, redirectURI string) {
	t.Helper()
	loc, err := url.Parse(r.header.Get("Location"))
	if err != nil {
		t.Fatal(err)
	}
	if got := loc.Scheme + "://" + loc.Host + loc.Path; got != loginURL {
		t.Errorf("redirected to %s, want %s", r.header.Get("Location"), loginURL)
	}
	if got := loc.Query().Get("redirect_uri"); got != redirectURI {
		t.Errorf("redirect_uri = %q, want %q", got, redirectURI)
	}
}
