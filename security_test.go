// Traefik v3.6 is built with go >= 1.24, so its cookie parser reads no cookie
// at all from a request with more than 3,000 of them. The plugin's go.mod
// says go 1.22, which would turn that limit off in these tests: run the
// parser Traefik runs. (tools/yaegi-test.sh sets the same in GODEBUG.)
//go:debug httpcookiemaxnum=3000

package authgear_test

import (
	"context"
	"encoding/pem"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

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

// newHTTP2Resolver is the fake resolver served over TLS and HTTP/2, as an
// https Authgear is: the plugin's transport sends the Cookie header in
// crumbs, and Go's HTTP/2 server joins the non-empty ones.
func newHTTP2Resolver(t *testing.T) (*fakeResolver, func(*authgear.Config)) {
	t.Helper()
	f := newFakeResolver(t)
	f.srv.Close()
	f.srv = httptest.NewUnstartedServer(http.HandlerFunc(f.serve))
	f.srv.EnableHTTP2 = true
	f.srv.StartTLS()
	ca := string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: f.srv.Certificate().Raw}))
	return f, func(c *authgear.Config) { c.TLS.CA = ca }
}

func TestOversizedCookieHeaderCannotPlantAnIdentity(t *testing.T) {
	for _, proto := range []string{"HTTP/1.1 resolver", "HTTP/2 resolver"} {
		t.Run(proto, func(t *testing.T) {
			f, tlsEdit := newFakeResolver(t), func(*authgear.Config) {}
			if proto == "HTTP/2 resolver" {
				f, tlsEdit = newHTTP2Resolver(t)
			}
			h, rec := newHandler(t, f, func(c *authgear.Config) { tlsEdit(c); c.RequireSession = true })
			// The attacker pairs a shared, non-secret Authorization value with
			// alice's stolen-or-own session hidden behind 3,001 empty cookies.
			resp, s := do(t, h, rec, request{header: map[string]string{
				"Authorization": "Bearer undefined",
				"Cookie":        oversizedCookie("user:alice"),
			}})
			if s.called || resp.StatusCode != http.StatusUnauthorized {
				t.Fatalf("oversized cookie: status %d, backend saw %v; want 401, not reached", resp.StatusCode, s.identity)
			}
			if got := f.lastRequest(t).header.Values("Cookie"); len(got) != 0 {
				t.Fatalf("the resolver was sent Cookie %q for a request whose cookies the plugin could not read", got)
			}
			// Everyone else sending the same Authorization value.
			resp, s = do(t, h, rec, request{header: map[string]string{"Authorization": "Bearer undefined"}})
			if s.called || resp.StatusCode != http.StatusUnauthorized {
				t.Fatalf("victim: status %d, backend saw %v; want 401", resp.StatusCode, s.identity)
			}
		})
	}
}

func TestResolverGetsExactlyTheKeyedCredentials(t *testing.T) {
	tests := []struct {
		name       string
		header     map[string]string
		wantCookie string
		wantAuth   string
	}{
		{"session among other cookies", map[string]string{"Cookie": "_ga=GA1.2.3; session=user:bob; theme=dark"}, "session=user:bob", ""},
		{"all three credential cookies, in Authgear's order", map[string]string{"Cookie": "session=user:carol; x=1; app_access_token=user:bob; app_session=user:alice"},
			"app_session=user:alice; app_access_token=user:bob; session=user:carol", ""},
		{"a bearer token and a preference cookie", map[string]string{"Authorization": "Bearer user:alice", "Cookie": "theme=dark"}, "", "Bearer user:alice"},
		{"no credential cookie at all", map[string]string{"Authorization": "Bearer user:alice", "Cookie": "_ga=1; _gid=2"}, "", "Bearer user:alice"},
		{"a quoted value", map[string]string{"Cookie": `session="user:bob"`}, "session=user:bob", ""},
		{"a value with a space stays one value", map[string]string{"Cookie": `session="user:bob x"`}, `session="user:bob x"`, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeResolver(t)
			h, rec := newHandler(t, f, nil)
			do(t, h, rec, request{header: tt.header})
			got := f.lastRequest(t).header
			if c := strings.Join(got.Values("Cookie"), "|"); c != tt.wantCookie {
				t.Errorf("resolver Cookie %q, want %q", c, tt.wantCookie)
			}
			if a := got.Get("Authorization"); a != tt.wantAuth {
				t.Errorf("resolver Authorization %q, want %q", a, tt.wantAuth)
			}
		})
	}
}

func TestResolverGetsNoClientIPHeaders(t *testing.T) {
	f := newFakeResolver(t)
	h, rec := newHandler(t, f, nil)
	req := httptest.NewRequest(http.MethodGet, "http://api.example.test/", nil)
	req.RemoteAddr = "203.0.113.7:4321"
	req.Header.Set("Authorization", "Bearer user:alice")
	req.Header.Set("Forwarded", "for=6.6.6.6")
	req.Header.Set("X-Real-Ip", "6.6.6.6")
	req.Header.Set("X-Original-For", "6.6.6.6")
	req.Header.Set("X-Client-Ip", "6.6.6.6")
	h.ServeHTTP(httptest.NewRecorder(), req)
	assertUser(t, rec.last, "alice")
	got := f.lastRequest(t).header
	for _, name := range []string{"Forwarded", "X-Real-Ip", "X-Original-For", "X-Client-Ip"} {
		if v := got.Get(name); v != "" {
			t.Errorf("resolver got the client's %s: %q", name, v)
		}
	}
	if xff := got.Get("X-Forwarded-For"); xff != "203.0.113.7" {
		t.Errorf("resolver X-Forwarded-For %q, want the peer address 203.0.113.7", xff)
	}
}

func TestBearerTokensResolveWhateverTheClientsScheme(t *testing.T) {
	tests := []struct {
		name         string
		resolverHost string
		clientProto  string // X-Forwarded-Proto as Traefik set it
		wantIdentity bool
		wantProto    string // what the resolver is sent
	}{
		{"origin, client on http behind a TLS balancer", publicOrigin, "http", true, "https"},
		{"origin, client on https", publicOrigin, "https", true, "https"},
		{"origin of an http Authgear, client on https", "http://" + publicHost, "https", false, "http"},
		{"bare host, client on https: the client's scheme", publicHost, "https", true, "https"},
		{"bare host, client on http: the client's scheme", publicHost, "http", false, "http"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeResolver(t)
			h, rec := newHandler(t, f, func(c *authgear.Config) { c.ResolverHost = tt.resolverHost })
			_, s := do(t, h, rec, request{header: map[string]string{"Authorization": "Bearer user:alice", "X-Forwarded-Proto": tt.clientProto}})
			if tt.wantIdentity {
				assertUser(t, s, "alice")
			} else {
				assertNoIdentity(t, s)
			}
			got := f.lastRequest(t)
			if p := got.header.Get("X-Forwarded-Proto"); p != tt.wantProto {
				t.Errorf("resolver X-Forwarded-Proto %q, want %q", p, tt.wantProto)
			}
			if got.host != publicHost || got.header.Get("X-Forwarded-Host") != publicHost {
				t.Errorf("resolver Host %q, X-Forwarded-Host %q; want %q", got.host, got.header.Get("X-Forwarded-Host"), publicHost)
			}
		})
	}
}

func TestFakePreflightGetsThePolicy(t *testing.T) {
	preflight := map[string]string{"Origin": "https://app.example.test", "Access-Control-Request-Method": "POST"}
	with := func(extra map[string]string) map[string]string {
		h := map[string]string{}
		for k, v := range preflight {
			h[k] = v
		}
		for k, v := range extra {
			h[k] = v
		}
		return h
	}
	admins := func(c *authgear.Config) { c.AllowedRoles = []string{"admin"} }
	tests := []struct {
		name       string
		r          request
		wantStatus int
	}{
		{"a real preflight passes, without identity", request{method: "OPTIONS", header: preflight}, 200},
		{"with a body it is refused", request{method: "OPTIONS", header: preflight, body: "payload"}, 401},
		{"with a chunked body it is refused", request{method: "OPTIONS", header: with(map[string]string{"Transfer-Encoding": "chunked"}), body: "payload"}, 401},
		{"with the credentials of a refused user it is refused", request{method: "OPTIONS", header: with(bearer("bob"))}, 403},
		{"with an unknown session it is refused", request{method: "OPTIONS", header: preflight, cookies: cookie("session", "nobody")}, 401},
		{"with the credentials of an allowed user it passes with identity", request{method: "OPTIONS", header: with(bearer("alice"))}, 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeResolver(t)
			h, rec := newHandler(t, f, admins)
			req := httptest.NewRequest(tt.r.method, "http://api.example.test/things", strings.NewReader(tt.r.body))
			for k, v := range tt.r.header {
				req.Header.Set(k, v)
			}
			if req.Header.Get("Transfer-Encoding") == "chunked" {
				req.Header.Del("Transfer-Encoding")
				req.TransferEncoding = []string{"chunked"}
				req.ContentLength = -1
			}
			for name, value := range tt.r.cookies {
				req.AddCookie(&http.Cookie{Name: name, Value: value})
			}
			w := httptest.NewRecorder()
			h.ServeHTTP(w, req)
			if w.Code != tt.wantStatus {
				t.Fatalf("status %d, want %d", w.Code, tt.wantStatus)
			}
			s := rec.last
			if s.called != (tt.wantStatus == 200) {
				t.Fatalf("backend reached = %v with status %d", s.called, w.Code)
			}
			if s.called && tt.r.header["Authorization"] == "" && len(s.identity) != 0 {
				t.Fatalf("a preflight reached the backend with identity %v", s.identity)
			}
		})
	}
}

func TestStaleIfErrorOnlyWhenAuthgearCannotAnswer(t *testing.T) {
	tests := []struct {
		name       string
		status     int64 // the resolver's answer during the failure; 0: it hangs
		wantStatus int
	}{
		{"500 serves the stale answer", 500, 200},
		{"503 serves the stale answer", 503, 200},
		{"timeout serves the stale answer", 0, 200},
		{"431 from a client's oversized header does not", 431, 502},
		{"400 does not", 400, 502},
		{"404 does not", 404, 502},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeResolver(t)
			h, rec := newHandler(t, f, func(c *authgear.Config) { c.CacheTTL = "0"; c.StaleIfError = "1h"; c.Timeout = "200ms" })
			_, s := do(t, h, rec, request{header: bearer("bob")})
			assertUser(t, s, "bob")
			if tt.status == 0 {
				f.delay.Store(int64(time.Minute))
			} else {
				f.status.Store(tt.status)
			}
			resp, s := do(t, h, rec, request{header: bearer("bob")})
			if resp.StatusCode != tt.wantStatus {
				t.Fatalf("status %d, want %d", resp.StatusCode, tt.wantStatus)
			}
			if tt.wantStatus == 200 {
				assertUser(t, s, "bob")
			} else if s.called {
				t.Fatalf("backend reached with %v", s.identity)
			}
		})
	}
}

func TestEachRequestGetsValueSlicesOfItsOwn(t *testing.T) {
	f := newFakeResolver(t)
	cfg := authgear.CreateConfig()
	cfg.ResolverURL = f.url()
	cfg.ResolverHost = publicOrigin
	var seenIDs []string
	var mu sync.Mutex
	next := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seenIDs = append(seenIDs, r.Header.Get("X-Authgear-User-Id"))
		mu.Unlock()
		// A careless handler edits the identity in place.
		for name, values := range r.Header {
			if strings.HasPrefix(name, "X-Authgear-") {
				values[0] = "edited"
			}
		}
	})
	h, err := authgear.New(context.Background(), next, cfg, t.Name())
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 3; i++ {
		req := httptest.NewRequest(http.MethodGet, "http://api.example.test/", nil)
		req.Header.Set("Authorization", "Bearer user:alice")
		h.ServeHTTP(httptest.NewRecorder(), req)
	}
	if got := strings.Join(seenIDs, ","); got != "id-alice,id-alice,id-alice" {
		t.Fatalf("the backend saw user ids %s: one request's edit changed the cached answer", got)
	}
	if f.calls.Load() != 1 {
		t.Fatalf("resolver calls = %d, want 1 (the answer is cached)", f.calls.Load())
	}
}

func TestReloadThatTurnsOnForwardResolverCookiesForwardsThem(t *testing.T) {
	f := newFakeResolver(t)
	build := func(forward bool) (http.Handler, *recorder) {
		cfg := authgear.CreateConfig()
		cfg.ResolverURL = f.url()
		cfg.ResolverHost = publicOrigin
		cfg.ForwardResolverCookies = forward
		rec := &recorder{}
		h, err := authgear.New(context.Background(), rec, cfg, t.Name())
		if err != nil {
			t.Fatal(err)
		}
		return h, rec
	}
	h, rec := build(false)
	resp, _ := do(t, h, rec, request{cookies: cookie("session", "expired")})
	if got := resp.Header.Values("Set-Cookie"); len(got) != 0 {
		t.Fatalf("Set-Cookie %q with forwardResolverCookies off", got)
	}
	h, rec = build(true)
	resp, _ = do(t, h, rec, request{cookies: cookie("session", "expired")})
	if got := resp.Header.Get("Set-Cookie"); !strings.HasPrefix(got, "session=;") {
		t.Fatalf("after the reload that turned forwardResolverCookies on: Set-Cookie %q, want the resolver's clearing cookie", got)
	}
}

// captureStderr returns what fn wrote to os.Stderr.
func captureStderr(t *testing.T, fn func()) string {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	old := os.Stderr
	os.Stderr = w
	fn()
	os.Stderr = old
	_ = w.Close()
	var b strings.Builder
	buf := make([]byte, 4096)
	for {
		n, err := r.Read(buf)
		b.Write(buf[:n])
		if err != nil {
			break
		}
	}
	return b.String()
}

func TestBadWebhookPostsDoNotHideAResolverOutage(t *testing.T) {
	f := newFakeResolver(t)
	h, rec := newHandler(t, f, withWebhook)
	out := captureStderr(t, func() {
		for i := 0; i < 3; i++ {
			postWebhook(h, http.MethodPost, "/_authgear/webhook", "bogus", []byte(`{}`))
		}
		f.status.Store(500)
		do(t, h, rec, request{header: bearer("alice")})
	})
	if !strings.Contains(out, "webhook delivery") || !strings.Contains(out, "resolver call failed") {
		t.Fatalf("stderr %q: want a line for the refused posts and one for the resolver failure", out)
	}
}

func TestWebhookChecksTheSignaturesFormBeforeReadingTheBody(t *testing.T) {
	f := newFakeResolver(t)
	h, _ := newHandler(t, f, withWebhook)
	body := &countingReader{r: strings.NewReader(strings.Repeat("x", 100000))}
	req := httptest.NewRequest(http.MethodPost, "http://api.example.test/_authgear/webhook", body)
	req.Header.Set("X-Authgear-Body-Signature", "not-a-signature")
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	if w.Code != http.StatusUnauthorized || body.n != 0 {
		t.Fatalf("status %d after reading %d bytes; want 401 before any read", w.Code, body.n)
	}

	big := []byte(fmt.Sprintf(`{"type":"user.disabled","context":{"user_id":"id-bob"},"pad":%q}`, strings.Repeat("x", 70000)))
	if w := postWebhook(h, http.MethodPost, "/_authgear/webhook", sign(webhookSecret, big), big); w.Code != http.StatusRequestEntityTooLarge {
		t.Fatalf("a signed 70 KB delivery: status %d, want 413 (real deliveries are a few KiB)", w.Code)
	}
}

// countingReader counts the bytes read through it.
type countingReader struct {
	r interface{ Read([]byte) (int, error) }
	n int
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += n
	return n, err
}

func TestUnkeyedHeadersCannotMakeTheResolverRequestLarge(t *testing.T) {
	f := newFakeResolver(t)
	h, _ := newHandler(t, f, nil)
	req := httptest.NewRequest(http.MethodGet, "http://api.example.test/", nil)
	req.Header.Set("Authorization", "Bearer user:alice")
	req.Header.Set("User-Agent", strings.Repeat("u", 20000))
	req.Header.Set("X-Forwarded-For", strings.Repeat("10.0.0.1, ", 2000)+"198.51.100.1")
	h.ServeHTTP(httptest.NewRecorder(), req)
	got := f.lastRequest(t).header
	if n := len(got.Get("User-Agent")); n > 512 {
		t.Errorf("resolver User-Agent of %d bytes, want at most 512", n)
	}
	xff := got.Get("X-Forwarded-For")
	if len(xff) > 600 || !strings.HasSuffix(xff, "198.51.100.1, 192.0.2.1") {
		t.Errorf("resolver X-Forwarded-For of %d bytes ending %q: want the nearest hops and the peer, bounded", len(xff), xff[len(xff)-30:])
	}
}

func TestARefreshRefusedWith4xxDoesNotKeepTheAnswer(t *testing.T) {
	f := newFakeResolver(t)
	h, _ := newHandler(t, f, func(c *authgear.Config) { revalidating(c); c.RequireSession = true })
	outcome(t, serveAsync(h, nil, "Bearer user:alice"))
	pastTTL()
	f.status.Store(431)
	outcome(t, serveAsync(h, nil, "Bearer user:alice")) // served at once; its refresh gets 431
	awaitCalls(t, f, 2)
	for deadline := time.Now().Add(5 * time.Second); ; {
		s := outcome(t, serveAsync(h, nil, "Bearer user:alice"))
		if s.status == http.StatusBadGateway {
			break // waited for the resolver: the kept answer is gone
		}
		if time.Now().After(deadline) {
			t.Fatalf("after a refresh refused with 431 the old answer is still served (%d)", s.status)
		}
	}
}

func TestWithABareResolverHostTheSchemeIsKeyed(t *testing.T) {
	f := newFakeResolver(t)
	h, rec := newHandler(t, f, func(c *authgear.Config) { c.ResolverHost = publicHost })
	_, s := do(t, h, rec, request{header: map[string]string{"Authorization": "Bearer user:alice", "X-Forwarded-Proto": "https"}})
	assertUser(t, s, "alice")
	// The same token over http: Authgear would not accept it for the http
	// origin, so the https answer must not be reused.
	_, s = do(t, h, rec, request{header: map[string]string{"Authorization": "Bearer user:alice", "X-Forwarded-Proto": "http"}})
	assertNoIdentity(t, s)
	if got := f.calls.Load(); got != 2 {
		t.Fatalf("resolver calls = %d, want 2 (one per scheme)", got)
	}
}
