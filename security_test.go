// Traefik v3.6 is built with go >= 1.24, so its cookie parser reads no cookie
// at all from a request with more than 3,000 of them. The plugin's go.mod
// says go 1.22, which would turn that limit off in these tests: run the
// parser Traefik runs. (tools/yaegi-test.sh sets the same in GODEBUG.)
//go:debug httpcookiemaxnum=3000

package authgear_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"os"
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

func TestTestsRunTraefiksCookieParser(t *testing.T) {
	req := httptest.NewRequest(http.MethodGet, "http://api.example.test/", nil)
	req.Header.Set("Cookie", oversizedCookie("user:alice"))
	if _, err := req.Cookie("session"); err == nil {
		t.Fatal("the cookie parser read a cookie from 3,002 cookies: the tests do not run Traefik's parser (httpcookiemaxnum=3000)")
	}
}

func TestOversizedCookieHeaderCannotPlantAnIdentity(t *testing.T) {
	for _, proto := range []string{"HTTP/1.1 resolver", "HTTP/2 resolver"} {
		t.Run(proto, func(t *testing.T) {
			f, ca := newFakeResolver(t), ""
			if proto == "HTTP/2 resolver" {
				f, ca = newTLSResolver(t)
			}
			h, rec := newNamed(t, f, t.Name(), func(c *authgear.Config) { c.TLS.CA = ca; c.RequireSession = true })
			// The attacker pairs a shared, non-secret Authorization value with
			// alice's stolen-or-own session hidden behind 3,001 empty cookies.
			w, s := do(h, rec, request{header: map[string]string{
				"Authorization": "Bearer undefined",
				"Cookie":        oversizedCookie("user:alice"),
			}})
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

// The resolver is sent a bodiless GET with exactly the keyed credentials,
// the app's public host, the scheme Authgear checks a JWT's audience
// against, the client's address as Traefik established it, bounded unkeyed
// headers, and nothing else of the client's request.
func TestTheResolverRequest(t *testing.T) {
	alice := "Bearer user:alice"
	tests := []struct {
		name string
		host string  // resolverHost, publicOrigin when ""
		r    request // with Authorization alice when r.header has none
		want map[string]string
		user string // the backend's user; "" for no valid session
	}{
		{"a GET without a body, whatever the client's request", "", request{method: "POST", target: "http://api.example.test/upload?x=1", body: `{"name":"report"}`, remote: "203.0.113.7:4321",
			header: map[string]string{"Content-Type": "application/json", "Authorization": alice, "User-Agent": "test-agent/1", "X-Forwarded-For": "198.51.100.1", "X-Forwarded-Host": "api.example.test", "Keep-Alive": "timeout=5", "Te": "trailers"}},
			map[string]string{":method": "GET", ":path": "/_resolver/resolve", ":body": "", ":host": publicHost, "X-Forwarded-Host": publicHost, "X-Forwarded-For": "198.51.100.1, 203.0.113.7",
				"Authorization": alice, "User-Agent": "test-agent/1", "Content-Type": "", "Content-Length": "", "Keep-Alive": "", "Te": ""}, "alice"},
		{"no client IP headers but the peer's address", "", request{remote: "203.0.113.7:4321", header: map[string]string{"Forwarded": "for=6.6.6.6", "X-Real-Ip": "6.6.6.6", "X-Original-For": "6.6.6.6", "X-Client-Ip": "6.6.6.6"}}, map[string]string{"Forwarded": "", "X-Real-Ip": "", "X-Original-For": "", "X-Client-Ip": "", "X-Forwarded-For": "203.0.113.7"}, "alice"},
		{"unkeyed headers cannot make it large", "", request{header: map[string]string{"User-Agent": strings.Repeat("u", 20000), "X-Forwarded-For": strings.Repeat("10.0.0.1, ", 2000) + "198.51.100.1"}}, map[string]string{"User-Agent": strings.Repeat("u", 512), "X-Forwarded-For": strings.Repeat("10.0.0.1, ", 49) + "198.51.100.1, 192.0.2.1"}, "alice"},
		{"session among other cookies", "", request{header: map[string]string{"Cookie": "_ga=GA1.2.3; session=user:bob; theme=dark", "Authorization": ""}}, map[string]string{"Cookie": "session=user:bob", "Authorization": ""}, "bob"},
		{"all three credential cookies, in Authgear's order", "", request{header: map[string]string{"Cookie": "session=user:carol; x=1; app_access_token=user:bob; app_session=user:alice", "Authorization": ""}}, map[string]string{"Cookie": "app_session=user:alice; app_access_token=user:bob; session=user:carol", "Authorization": ""}, "alice"},
		{"a bearer token and only other cookies", "", request{header: map[string]string{"Cookie": "theme=dark; _ga=1; _gid=2"}}, map[string]string{"Cookie": "", "Authorization": alice}, "alice"},
		{"a quoted value", "", request{header: map[string]string{"Cookie": `session="user:bob"`, "Authorization": ""}}, map[string]string{"Cookie": "session=user:bob"}, "bob"},
		{"a value with a space stays one value", "", request{header: map[string]string{"Cookie": `session="user:bob x"`, "Authorization": ""}}, map[string]string{"Cookie": `session="user:bob x"`}, ""},
		// Bearer tokens resolve whatever the client's scheme.
		{"origin, client on http behind a TLS balancer", publicOrigin, request{header: map[string]string{"X-Forwarded-Proto": "http"}}, map[string]string{"X-Forwarded-Proto": "https", ":host": publicHost, "X-Forwarded-Host": publicHost}, "alice"},
		{"origin, client on https", publicOrigin, request{header: map[string]string{"X-Forwarded-Proto": "https"}}, map[string]string{"X-Forwarded-Proto": "https", ":host": publicHost, "X-Forwarded-Host": publicHost}, "alice"},
		{"origin of an http Authgear, client on https", "http://" + publicHost, request{header: map[string]string{"X-Forwarded-Proto": "https"}}, map[string]string{"X-Forwarded-Proto": "http", ":host": publicHost, "X-Forwarded-Host": publicHost}, ""},
		{"bare host, client on https: the client's scheme", publicHost, request{header: map[string]string{"X-Forwarded-Proto": "https"}}, map[string]string{"X-Forwarded-Proto": "https", ":host": publicHost, "X-Forwarded-Host": publicHost}, "alice"},
		{"bare host, client on http: the client's scheme", publicHost, request{header: map[string]string{"X-Forwarded-Proto": "http"}}, map[string]string{"X-Forwarded-Proto": "http", ":host": publicHost, "X-Forwarded-Host": publicHost}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, h, rec := newHandler(t, func(c *authgear.Config) {
				if tt.host != "" {
					c.ResolverHost = tt.host
				}
			})
			if _, ok := tt.r.header["Authorization"]; !ok {
				tt.r.header["Authorization"] = alice
			} else if tt.r.header["Authorization"] == "" {
				delete(tt.r.header, "Authorization")
			}
			_, s := do(h, rec, tt.r)
			if tt.user != "" {
				assertUser(t, s, tt.user)
			} else if s.identity["x-authgear-user-id"] != "" || s.identity["x-authgear-session-valid"] == "true" {
				t.Fatalf("backend saw %v, want no valid session", s.identity)
			}
			got := f.lastRequest(t)
			pseudo := map[string]string{":method": got.method, ":path": got.path, ":body": got.body, ":host": got.host}
			for name, want := range tt.want {
				v, ok := pseudo[name]
				if !ok {
					v = strings.Join(got.header.Values(name), "|")
				}
				if v != want {
					t.Errorf("resolver request %s = %q, want %q", name, v, want)
				}
			}
		})
	}
}

func TestWithABareResolverHostTheSchemeIsKeyed(t *testing.T) {
	f, h, rec := newHandler(t, func(c *authgear.Config) { c.ResolverHost = publicHost })
	_, s := do(h, rec, request{header: map[string]string{"Authorization": "Bearer user:alice", "X-Forwarded-Proto": "https"}})
	assertUser(t, s, "alice")
	// The same token over http: Authgear would not accept it for the http
	// origin, so the https answer must not be reused.
	_, s = do(h, rec, request{header: map[string]string{"Authorization": "Bearer user:alice", "X-Forwarded-Proto": "http"}})
	assertUser(t, s, "")
	if got := f.calls.Load(); got != 2 {
		t.Fatalf("resolver calls = %d, want 2 (one per scheme)", got)
	}
}

func TestBadWebhookPostsDoNotHideAResolverOutage(t *testing.T) {
	f, h, rec := newHandler(t, withWebhook)
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	stderr := os.Stderr
	os.Stderr = w
	for i := 0; i < 3; i++ {
		postWebhook(h, "bogus", []byte(`{}`))
	}
	f.status.Store(500)
	do(h, rec, request{header: bearer("alice")})
	os.Stderr = stderr
	_ = w.Close()
	out, _ := io.ReadAll(r)
	if !strings.Contains(string(out), "webhook delivery") || !strings.Contains(string(out), "resolver call failed") {
		t.Fatalf("stderr %q: want a line for the refused posts and one for the resolver failure", out)
	}
}
