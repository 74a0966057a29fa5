//go:build e2e

package e2e

import (
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
)

// credential is one way of presenting a credential, as header pairs.
type credential struct {
	name    string
	headers []string
	user    string // whose identity the backend must get; "" for none
}

// credentials returns every credential source of every user with roles,
// cookies named with prefix.
func credentials(prefix string) []credential {
	var out []credential
	for _, user := range []string{"alice", "bob"} {
		out = append(out,
			credential{user + " bearer", []string{"Authorization", "Bearer " + user + "-token"}, user},
			credential{user + " session", []string{"Cookie", prefix + "session=" + user + "-session"}, user},
			credential{user + " app_session", []string{"Cookie", prefix + "app_session=" + user + "-app-session"}, user},
			credential{user + " app_access_token", []string{"Cookie", prefix + "app_access_token=" + user + "-app-token"}, user},
		)
	}
	return out
}

// TestCredentialSources: each credential source, with and without a cookie
// prefix, gives the backend that user's identity headers.
func TestCredentialSources(t *testing.T) {
	e := mainEnv(t)
	for _, tc := range []struct {
		mw, prefix string
	}{
		{"basic", ""},
		{"prefixed", "myapp_"},
	} {
		for _, c := range credentials(tc.prefix) {
			t.Run(tc.mw+"/"+c.name, func(t *testing.T) {
				r := e.get(t, "/"+tc.mw+"/whoami", c.headers...).wantStatus(t, http.StatusOK)
				r.wantIdentity(t, identityOf(t, c.user))
			})
		}
	}
}

// TestCredentialEdgeCases covers what is not a plain single credential.
func TestCredentialEdgeCases(t *testing.T) {
	e := mainEnv(t)
	for _, tc := range []struct {
		name      string
		mw        string
		headers   []string
		want      map[string]string
		wantCalls int64 // resolver calls, -1: don't check
	}{
		{"no credential: no resolver call", "nocache", []string{"Cookie", "theme=dark"}, noIdentity, 0},
		{"unknown bearer token", "nocache", []string{"Authorization", "Bearer nobody-token"}, noIdentity, 1},
		{"bearer scheme in lower case", "nocache", []string{"Authorization", "bearer bob-token"}, identityOf(t, "bob"), 1},
		{"unknown session cookie", "nocache", []string{"Cookie", "session=stale"}, invalidSession, 1},
		{"bearer wins over session", "nocache", []string{"Authorization", "Bearer bob-token", "Cookie", "session=alice-session"}, identityOf(t, "bob"), 1},
		{"app_session wins over session", "nocache", []string{"Cookie", "session=alice-session; app_session=bob-app-session"}, identityOf(t, "bob"), 1},
		{"anonymous user", "nocache", []string{"Cookie", "session=anon-session"}, identityOf(t, "anon"), 1},
		{"prefix: unprefixed cookie is no credential", "prefixed", []string{"Cookie", "session=alice-session"}, noIdentity, 0},
		{"prefix: unknown prefixed session", "prefixed", []string{"Cookie", "myapp_session=stale"}, invalidSession, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n := calls(e.resolver(t, tc.mw))
			e.get(t, "/"+tc.mw+"/x", tc.headers...).wantStatus(t, http.StatusOK).wantIdentity(t, tc.want)
			if tc.wantCalls >= 0 && n() != tc.wantCalls {
				t.Errorf("%d resolver calls, want %d", n(), tc.wantCalls)
			}
		})
	}
}

// TestNoIdentityMixups: with the cache on, users and credential sources
// interleaved, sequentially and concurrently, nobody gets another's identity.
func TestNoIdentityMixups(t *testing.T) {
	e := mainEnv(t)
	all := append(credentials(""),
		credential{"carol session", []string{"Cookie", "session=carol-session"}, "carol"},
		credential{"carol bearer", []string{"Authorization", "Bearer carol-token"}, "carol"},
		credential{"anon session", []string{"Cookie", "session=anon-session"}, "anon"},
		credential{"anon bearer", []string{"Authorization", "Bearer anon-token"}, "anon"},
		credential{"nobody", []string{"Cookie", "theme=dark"}, ""},
	)
	wants := map[string]map[string]string{"": noIdentity}
	for _, c := range all {
		if c.user != "" {
			wants[c.user] = identityOf(t, c.user)
		}
	}
	want := func(c credential) map[string]string { return wants[c.user] }
	for round := 0; round < 3; round++ {
		for _, c := range all {
			e.get(t, "/basic/mixup", c.headers...).wantStatus(t, http.StatusOK).wantIdentity(t, want(c))
		}
	}

	var wg sync.WaitGroup
	errs := make(chan error, len(all)*20)
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := 0; i < 20; i++ {
				c := all[(w*7+i)%len(all)]
				if err := e.checkIdentity("/basic/mixup", c.headers, want(c)); err != nil {
					errs <- fmt.Errorf("%s: %w", c.name, err)
				}
			}
		}(w)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// checkIdentity is the goroutine-safe form of get + wantIdentity.
func (e *env) checkIdentity(path string, headers []string, want map[string]string) error {
	req, _ := http.NewRequest(http.MethodGet, e.traefik.URL+path, nil)
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Add(headers[i], headers[i+1])
	}
	resp, err := e.client.Do(req)
	if err != nil {
		return err
	}
	r := readReplyErr(resp)
	if r.echo == nil {
		return fmt.Errorf("backend not reached: %d %q", r.status, r.body)
	}
	got := identityMap(r.echo)
	if fmt.Sprint(got) != fmt.Sprint(want) {
		return fmt.Errorf("backend got %v, want %v", got, want)
	}
	return nil
}

// spoofs are forged identity headers in every spelling a backend might read
// as an identity header.
var spoofs = []string{
	"X-Authgear-User-Id: forged",
	"x-authgear-user-id: forged",
	"X-AUTHGEAR-USER-ID: forged",
	"X_Authgear_User_Id: forged",
	"x_authgear_user_id: forged",
	"X-Authgear_User-Id: forged",
	"X-Authgear-Session-Valid: true",
	"X-Authgear-User-Roles: admin",
	"X-Authgear-Brand-New-Header: forged",
}

// TestSpoofedHeadersStripped: forged x-authgear-* headers never reach the
// backend, alone, all together, with and without a real credential, and
// identity header names listed in Connection do not make a proxy drop the
// real ones.
func TestSpoofedHeadersStripped(t *testing.T) {
	e := mainEnv(t)
	alice := identityOf(t, "alice")
	for _, s := range spoofs {
		t.Run(s, func(t *testing.T) {
			// Control: without the middleware, Traefik passes the header on.
			if got := e.raw(t, "GET", plainRoute, s).identity(t); len(got) != 1 {
				t.Fatalf("control: backend behind no middleware got %v, want the forged header", got)
			}
			e.raw(t, "GET", "/basic/spoof", s).wantStatus(t, http.StatusOK).wantIdentity(t, noIdentity)
			e.raw(t, "GET", "/basic/spoof", s, "Cookie: session=alice-session").wantStatus(t, http.StatusOK).wantIdentity(t, alice)
		})
	}
	t.Run("all at once", func(t *testing.T) {
		e.raw(t, "GET", "/basic/spoof", spoofs...).wantStatus(t, http.StatusOK).wantIdentity(t, noIdentity)
		e.raw(t, "GET", "/basic/spoof", append([]string{"Cookie: session=alice-session"}, spoofs...)...).
			wantStatus(t, http.StatusOK).wantIdentity(t, alice)
	})
	t.Run("listed in Connection", func(t *testing.T) {
		conn := "Connection: keep-alive, X-Authgear-User-Id, x-authgear-session-valid, X_Authgear_User_Roles"
		// Control: Traefik drops the headers that Connection lists.
		if got := e.raw(t, "GET", plainRoute, conn, "X-Authgear-User-Id: x", "X-Authgear-Session-Valid: true").identity(t); len(got) != 0 {
			t.Fatalf("control: Traefik passed headers listed in Connection: %v", got)
		}
		e.raw(t, "GET", "/basic/spoof", conn, "Cookie: session=alice-session").wantStatus(t, http.StatusOK).wantIdentity(t, alice)
		e.raw(t, "GET", "/basic/spoof", conn, "X-Authgear-User-Id: forged").wantStatus(t, http.StatusOK).wantIdentity(t, noIdentity)
	})
	t.Run("valid=true forged under requireSession", func(t *testing.T) {
		r := e.raw(t, "GET", "/require/spoof", "X-Authgear-Session-Valid: true", "X-Authgear-User-Id: forged")
		r.wantStatus(t, http.StatusUnauthorized)
	})
	t.Run("roles forged under allowedRoles", func(t *testing.T) {
		r := e.raw(t, "GET", "/roles/spoof", "Cookie: session=bob-session", "X-Authgear-User-Roles: admin", "X_Authgear_User_Roles: admin")
		r.wantStatus(t, http.StatusForbidden)
	})
}

// TestResolverHost: the resolver is reached on an internal address (the
// stand-in's loopback port) while Traefik has put the API's host in
// X-Forwarded-Host; with resolverHost set to the public host a bearer token
// works, and without it the token resolves to nothing, as with Authgear.
func TestResolverHost(t *testing.T) {
	e := mainEnv(t)
	const apiHost = "api.example.test"
	bearer := []string{"Host", apiHost, "Authorization", "Bearer alice-token"}

	r := e.get(t, "/basic/host", bearer...).wantStatus(t, http.StatusOK)
	r.wantIdentity(t, identityOf(t, "alice"))
	if got := r.echo.Headers["X-Forwarded-Host"]; len(got) != 1 || got[0] != apiHost {
		t.Errorf("backend X-Forwarded-Host = %v, want [%s] (set by Traefik)", got, apiHost)
	}
	last := e.resolver(t, "basic").LastRequest()
	if last.Host != publicHost || last.Header.Get("X-Forwarded-Host") != publicHost {
		t.Errorf("resolver got Host %q, X-Forwarded-Host %q; want %s for both", last.Host, last.Header.Get("X-Forwarded-Host"), publicHost)
	}
	if xff := last.Header.Get("X-Forwarded-For"); !strings.Contains(xff, "127.0.0.1") {
		t.Errorf("resolver got X-Forwarded-For %q, want the client's address", xff)
	}

	e.get(t, "/nohost/host", bearer...).wantStatus(t, http.StatusOK).wantIdentity(t, noIdentity)
	nohost := e.resolver(t, "nohost")
	if last := nohost.LastRequest(); last.Host != strings.TrimPrefix(nohost.srv.URL, "http://") {
		t.Errorf("without resolverHost the resolver got Host %q, want its own address", last.Host)
	}
}

// TestRequestBodyIntact: the backend gets the method and body unchanged; the
// resolver gets a GET without a body.
func TestRequestBodyIntact(t *testing.T) {
	e := mainEnv(t)
	body := strings.Repeat("The quick brown fox jumps over the lazy dog.\n", 6000) // ~270 KB
	for _, method := range []string{http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete} {
		t.Run(method, func(t *testing.T) {
			n := calls(e.resolver(t, "nocache"))
			r := e.request(t, method, "/nocache/upload?x=1", body,
				"Cookie", "session=alice-session", "Content-Type", "text/plain").wantStatus(t, http.StatusOK)
			r.wantIdentity(t, identityOf(t, "alice"))
			if r.echo.Method != method || r.echo.Body != body || r.echo.Query != "x=1" {
				t.Errorf("backend got %s ?%s with %d body bytes, want %s ?x=1 with %d", r.echo.Method, r.echo.Query, len(r.echo.Body), method, len(body))
			}
			if n() != 1 {
				t.Errorf("%d resolver calls, want 1", n())
			}
			last := e.resolver(t, "nocache").LastRequest()
			if last.Method != http.MethodGet {
				t.Errorf("resolver got %s, want GET", last.Method)
			}
			for _, h := range []string{"Content-Length", "Content-Type", "Transfer-Encoding"} {
				if v := last.Header.Values(h); len(v) > 0 {
					t.Errorf("resolver got %s: %v, want none (no body)", h, v)
				}
			}
		})
	}
}
