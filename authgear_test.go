package authgear_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	authgear "github.com/traefik-authgear/traefik-authgear"
)

func TestNewRejectsInvalidOptions(t *testing.T) {
	tests := []struct {
		name   string
		edit   func(*authgear.Config)
		option string
	}{
		{"missing resolverURL", func(c *authgear.Config) { c.ResolverURL = "" }, "resolverURL is required"},
		{"relative resolverURL", func(c *authgear.Config) { c.ResolverURL = "/_resolver/resolve" }, "resolverURL"},
		{"ftp resolverURL", func(c *authgear.Config) { c.ResolverURL = "ftp://auth/_resolver/resolve" }, "resolverURL"},
		{"trailing slash resolverURL", func(c *authgear.Config) { c.ResolverURL = "https://auth/_resolver/resolve/" }, "must not end with a slash"},
		{"resolverHost with a path", func(c *authgear.Config) { c.ResolverHost = "https://auth.example.com/app" }, "resolverHost"},
		{"resolverHost with another scheme", func(c *authgear.Config) { c.ResolverHost = "ftp://auth.example.com" }, "resolverHost"},
		{"resolverHost bare with a path", func(c *authgear.Config) { c.ResolverHost = "auth.example.com/app" }, "resolverHost"},
		{"cacheTTL past its bound", func(c *authgear.Config) { c.CacheTTL = "2500000h" }, "cacheTTL"},
		{"cacheTTL in seconds past its bound", func(c *authgear.Config) { c.CacheTTL = "1e300" }, "cacheTTL"},
		{"staleIfError past its bound", func(c *authgear.Config) { c.StaleIfError = "25h" }, "staleIfError"},
		{"timeout past its bound", func(c *authgear.Config) { c.Timeout = "1h" }, "timeout"},
		{"loginURL with a backslash", func(c *authgear.Config) { c.LoginURL = `/\evil.example/login` }, "loginURL"},
		{"timeout not a duration", func(c *authgear.Config) { c.Timeout = "soon" }, "timeout"},
		{"timeout zero", func(c *authgear.Config) { c.Timeout = "0" }, "timeout"},
		{"timeout empty", func(c *authgear.Config) { c.Timeout = "" }, "timeout"},
		{"cacheTTL negative", func(c *authgear.Config) { c.CacheTTL = "-5s" }, "cacheTTL"},
		{"cacheTTL words", func(c *authgear.Config) { c.CacheTTL = "one minute" }, "cacheTTL"},
		{"cacheMaxEntries zero", func(c *authgear.Config) { c.CacheMaxEntries = 0 }, "cacheMaxEntries"},
		{"cacheMaxEntries negative", func(c *authgear.Config) { c.CacheMaxEntries = -1 }, "cacheMaxEntries"},
		{"cookiePrefix with semicolon", func(c *authgear.Config) { c.CookiePrefix = "a;b" }, "cookiePrefix"},
		{"staleIfError words", func(c *authgear.Config) { c.StaleIfError = "forever" }, "staleIfError"},
		{"staleWhileRevalidate words", func(c *authgear.Config) { c.StaleWhileRevalidate = "a while" }, "staleWhileRevalidate"},
		{"staleWhileRevalidate negative", func(c *authgear.Config) { c.StaleWhileRevalidate = "-1s" }, "staleWhileRevalidate"},
		{"staleWhileRevalidate past its bound", func(c *authgear.Config) { c.StaleWhileRevalidate = "48h" }, "staleWhileRevalidate"},
		{"onResolverError unknown", func(c *authgear.Config) { c.OnResolverError = "allow" }, "onResolverError"},
		{"loginURL relative without slash", func(c *authgear.Config) { c.LoginURL = "login" }, "loginURL"},
		{"loginURL javascript", func(c *authgear.Config) { c.LoginURL = "javascript:alert(1)" }, "loginURL"},
		{"tls.ca missing file", func(c *authgear.Config) { c.TLS.CA = "/nonexistent/ca.pem" }, "tls.ca"},
		{"tls.ca not PEM", func(c *authgear.Config) {
			c.TLS.CA = "-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----"
		}, "tls.ca"},
		{"webhookPath relative", func(c *authgear.Config) { c.WebhookPath = "hook"; c.WebhookSecret = "s" }, "webhookPath"},
		{"webhookPath without secret", func(c *authgear.Config) { c.WebhookPath = "/hook" }, "webhookSecret (or webhookSecretFile) is required"},
		{"webhookSecretFile missing", func(c *authgear.Config) { c.WebhookPath = "/hook"; c.WebhookSecretFile = "/nonexistent/secret" }, "webhookSecretFile: cannot read"},
		{"webhookSecretFile empty", func(c *authgear.Config) { c.WebhookPath = "/hook"; c.WebhookSecretFile = emptySecretFile }, "is empty"},
		{"metricsPath relative", func(c *authgear.Config) { c.MetricsPath = "metrics" }, "metricsPath"},
		{"metricsAllowedIPs not an address", func(c *authgear.Config) { c.MetricsPath = "/m"; c.MetricsAllowedIPs = []string{"internal"} }, "metricsAllowedIPs"},
		{"both secrets", func(c *authgear.Config) {
			c.WebhookPath = "/hook"
			c.WebhookSecret = "s"
			c.WebhookSecretFile = emptySecretFile
		}, "both set"},
		{"mistyped allowedRoles", func(c *authgear.Config) { c.UnknownOptions = map[string]interface{}{"allowedRole": "admin"} },
			`unknown option "allowedRole": did you mean "allowedRoles"?`},
		{"mistyped requireSession", func(c *authgear.Config) { c.UnknownOptions = map[string]interface{}{"requireSesion": "true"} },
			`unknown option "requireSesion": did you mean "requireSession"?`},
		{"mistyped tls option", func(c *authgear.Config) { c.TLS.UnknownOptions = map[string]interface{}{"insecureSkipVerfy": true} },
			`unknown option "tls.insecureSkipVerfy": did you mean "tls.insecureSkipVerify"?`},
		{"an option nothing is near", func(c *authgear.Config) { c.UnknownOptions = map[string]interface{}{"frobnicate": 1} },
			`unknown option "frobnicate": the options are resolverURL`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := authgear.CreateConfig()
			cfg.ResolverURL = "https://myapp.authgear.cloud/_resolver/resolve"
			tt.edit(cfg)
			_, err := authgear.New(context.Background(), http.NotFoundHandler(), cfg, "invalid")
			if err == nil {
				t.Fatal("New succeeded, want an error")
			}
			if !strings.Contains(err.Error(), tt.option) {
				t.Fatalf("error %q does not name %q", err, tt.option)
			}
		})
	}
}

func TestNewAcceptsValuesAsUsersWriteThem(t *testing.T) {
	tests := []struct {
		name string
		edit func(*authgear.Config)
	}{
		{"defaults", func(c *authgear.Config) {}},
		{"durations with units", func(c *authgear.Config) { c.Timeout = "1500ms"; c.CacheTTL = "5m"; c.StaleIfError = "1h" }},
		{"bare seconds", func(c *authgear.Config) { c.Timeout = "30"; c.CacheTTL = "0"; c.StaleIfError = "0.5" }},
		{"padded values", func(c *authgear.Config) { c.Timeout = " 5s "; c.OnResolverError = " Anonymous " }},
		{"roles as one comma string", func(c *authgear.Config) { c.AllowedRoles = []string{"admin, editor"} }},
		{"loginURL path", func(c *authgear.Config) { c.LoginURL = "/login"; c.RequireSession = true }},
		{"loginURL absolute", func(c *authgear.Config) { c.LoginURL = "https://myapp.authgear.cloud/login?x=1" }},
		{"resolverHost with port", func(c *authgear.Config) { c.ResolverHost = "auth.example.com:8443" }},
		{"resolverHost as an origin", func(c *authgear.Config) { c.ResolverHost = "https://auth.example.com" }},
		{"durations at their bounds", func(c *authgear.Config) { c.Timeout = "5m"; c.CacheTTL = "24h"; c.StaleIfError = "86400" }},
		{"insecure TLS", func(c *authgear.Config) { c.TLS.InsecureSkipVerify = true }},
		{"webhook", func(c *authgear.Config) { c.WebhookPath = "/_authgear/webhook"; c.WebhookSecret = "secret" }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := authgear.CreateConfig()
			cfg.ResolverURL = "https://myapp.authgear.cloud/_resolver/resolve"
			tt.edit(cfg)
			if _, err := authgear.New(context.Background(), http.NotFoundHandler(), cfg, "valid-"+tt.name); err != nil {
				t.Fatalf("New: %v", err)
			}
		})
	}
}

func TestDefaults(t *testing.T) {
	cfg := authgear.CreateConfig()
	if cfg.Timeout != "5s" || cfg.CacheTTL != "10s" || cfg.StaleWhileRevalidate != "5m" || cfg.CacheMaxEntries != 10000 || cfg.StaleIfError != "0" ||
		cfg.OnResolverError != "reject" || !cfg.ForwardResolverCookies || cfg.RequireSession || cfg.CookiePrefix != "" {
		t.Fatalf("CreateConfig() = %+v, want the documented defaults", cfg)
	}
}

func TestSpoofedIdentityHeadersNeverReachTheBackend(t *testing.T) {
	spellings := []string{
		"X-Authgear-User-Id", "x-authgear-user-id", "X-AUTHGEAR-USER-ID", "X_Authgear_User_Id",
		"x_authgear_user_id", "X-Authgear_User-Id", "X_AUTHGEAR-USER_ID", "X-Authgear-Session-Valid",
		"X-Authgear-User-Roles", "X-Authgear-Anything-New", "X-Authgear-",
	}
	f := newFakeResolver(t)
	h, rec := newHandler(t, f, nil)
	for _, name := range spellings {
		for _, who := range []string{"", "bob"} {
			t.Run(name+"/"+who, func(t *testing.T) {
				r := request{header: map[string]string{name: "admin-forged"}}
				if who != "" {
					r.header["Authorization"] = "Bearer user:" + who
				}
				resp, s := do(t, h, rec, r)
				if resp.StatusCode != http.StatusOK {
					t.Fatalf("status %d", resp.StatusCode)
				}
				for n, v := range s.identity {
					if strings.Contains(v, "forged") {
						t.Fatalf("forged header %s: %s reached the backend", n, v)
					}
				}
				if who == "" {
					assertNoIdentity(t, s)
				} else {
					assertUser(t, s, who)
				}
			})
		}
	}
}

func TestIdentityHeaderNamesAreRemovedFromConnection(t *testing.T) {
	f := newFakeResolver(t)
	h, rec := newHandler(t, f, nil)
	_, s := do(t, h, rec, request{header: map[string]string{
		"Authorization": "Bearer user:alice",
		"Connection":    "keep-alive, X-Authgear-User-Id, x_authgear_session_valid",
	}})
	assertUser(t, s, "alice")
	if got := s.header.Get("Connection"); got != "keep-alive" {
		t.Fatalf("Connection = %q, want keep-alive", got)
	}
	_, s = do(t, h, rec, request{header: map[string]string{"Connection": "X-Authgear-User-Id"}})
	if _, ok := s.header["Connection"]; ok {
		t.Fatalf("Connection = %q, want it removed", s.header["Connection"])
	}
}

func TestSpoofedTrailersAreRemoved(t *testing.T) {
	f := newFakeResolver(t)
	var trailer http.Header
	next := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { trailer = r.Trailer.Clone() })
	cfg := authgear.CreateConfig()
	cfg.ResolverURL = f.url()
	h, err := authgear.New(context.Background(), next, cfg, t.Name())
	if err != nil {
		t.Fatal(err)
	}
	req := httptest.NewRequest(http.MethodPost, "http://api.example.test/", strings.NewReader("x"))
	req.Trailer = http.Header{"X-Authgear-User-Id": nil, "X-Checksum": nil}
	h.ServeHTTP(httptest.NewRecorder(), req)
	if _, ok := trailer["X-Authgear-User-Id"]; ok || len(trailer) != 1 {
		t.Fatalf("backend saw trailers %v, want only X-Checksum", trailer)
	}
}

func TestEachCredentialSourceGivesItsUser(t *testing.T) {
	tests := []struct {
		name   string
		prefix string
		r      request
		want   string // user name, "" for no identity
		valid  string // x-authgear-session-valid expected when want is ""
		calls  int64
	}{
		{name: "no credential", r: request{}, calls: 0},
		{name: "unrelated cookie only", r: request{cookies: map[string]string{"_ga": "GA1.2.3"}}, calls: 0},
		{name: "bearer", r: request{header: bearer("alice")}, want: "alice", calls: 1},
		{name: "bearer scheme lower case", r: request{header: map[string]string{"Authorization": "bearer user:alice"}}, want: "alice", calls: 1},
		{name: "session cookie", r: request{cookies: cookie("session", "bob")}, want: "bob", calls: 1},
		{name: "app_session cookie", r: request{cookies: cookie("app_session", "carol")}, want: "carol", calls: 1},
		{name: "app_access_token cookie", r: request{cookies: cookie("app_access_token", "alice")}, want: "alice", calls: 1},
		{name: "prefixed session cookie", prefix: "myapp_", r: request{cookies: cookie("myapp_session", "bob")}, want: "bob", calls: 1},
		{name: "prefixed app_session cookie", prefix: "myapp_", r: request{cookies: cookie("myapp_app_session", "carol")}, want: "carol", calls: 1},
		{name: "unprefixed cookie ignored with a prefix", prefix: "myapp_", r: request{cookies: cookie("session", "bob")}, calls: 0},
		{name: "bearer wins over app_session", r: request{header: bearer("alice"), cookies: cookie("app_session", "bob")}, want: "alice", calls: 1},
		{name: "app_session wins over session", r: request{cookies: map[string]string{"app_session": "user:carol", "session": "user:bob"}}, want: "carol", calls: 1},
		{name: "invalid bearer falls back to session", r: request{header: bearer("mallory"), cookies: cookie("session", "bob")}, want: "bob", calls: 1},
		{name: "unknown session", r: request{cookies: map[string]string{"session": "bogus.value"}}, valid: "false", calls: 1},
		{name: "invalid bearer", r: request{header: map[string]string{"Authorization": "Bearer x"}}, calls: 1},
		{name: "basic auth", r: request{header: map[string]string{"Authorization": "Basic dXNlcjpwYXNz"}}, calls: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeResolver(t)
			f.cookiePrefix = tt.prefix
			h, rec := newHandler(t, f, func(c *authgear.Config) { c.CookiePrefix = tt.prefix })
			_, s := do(t, h, rec, tt.r)
			if tt.want != "" {
				assertUser(t, s, tt.want)
			} else if tt.valid != "" {
				if len(s.identity) != 1 || s.identity["x-authgear-session-valid"] != tt.valid {
					t.Fatalf("backend saw %v, want only x-authgear-session-valid: %s", s.identity, tt.valid)
				}
			} else {
				assertNoIdentity(t, s)
			}
			if got := f.calls.Load(); got != tt.calls {
				t.Fatalf("resolver calls = %d, want %d", got, tt.calls)
			}
		})
	}
}

func TestBackendSeesEveryIdentityHeaderOfTheAnswer(t *testing.T) {
	f := newFakeResolver(t)
	h, rec := newHandler(t, f, nil)
	_, s := do(t, h, rec, request{header: bearer("alice")})
	want := map[string]string{
		"x-authgear-session-valid":            "true",
		"x-authgear-user-id":                  "id-alice",
		"x-authgear-user-anonymous":           "false",
		"x-authgear-user-verified":            "false",
		"x-authgear-user-can-reauthenticate":  "true",
		"x-authgear-user-roles":               "editor,admin",
		"x-authgear-session-amr":              "",
		"x-authgear-session-authenticated-at": "1795920688",
	}
	if len(s.identity) != len(want) {
		t.Fatalf("backend saw %v, want %v", s.identity, want)
	}
	for k, v := range want {
		if got, ok := s.identity[k]; !ok || got != v {
			t.Fatalf("backend saw %s = %q (present %v), want %q", k, got, ok, v)
		}
	}
	if _, ok := s.header["X-Robots-Tag"]; ok {
		t.Fatal("a non-identity header of the resolver's answer reached the backend")
	}
}

func TestUsersNeverSeeEachOthersIdentity(t *testing.T) {
	f := newFakeResolver(t)
	h, rec := newHandler(t, f, nil)
	sources := []func(string) request{
		func(u string) request { return request{header: bearer(u)} },
		func(u string) request { return request{cookies: cookie("session", u)} },
		func(u string) request { return request{cookies: cookie("app_session", u)} },
		func(u string) request { return request{cookies: cookie("app_access_token", u)} },
	}
	names := []string{"alice", "bob", "carol", "anon"}
	for round := 0; round < 3; round++ {
		for i, source := range sources {
			for _, name := range names {
				_, s := do(t, h, rec, source(name))
				if !s.called || s.identity["x-authgear-user-id"] != users[name].id {
					t.Fatalf("round %d source %d: %s got identity %v", round, i, name, s.identity)
				}
			}
		}
	}
	// One call per distinct credential; the later rounds are cache hits.
	if got, want := f.calls.Load(), int64(len(sources)*len(names)); got != want {
		t.Fatalf("resolver calls = %d, want %d", got, want)
	}
}

func TestCaching(t *testing.T) {
	tests := []struct {
		name      string
		ttl       string
		requests  int
		wait      time.Duration // between requests
		wantCalls int64
	}{
		{"cache hits", "60s", 5, 0, 1},
		{"cache off", "0", 5, 0, 5},
		{"expiry", "0.05", 3, 80 * time.Millisecond, 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeResolver(t)
			h, rec := newHandler(t, f, func(c *authgear.Config) { c.CacheTTL = tt.ttl })
			for i := 0; i < tt.requests; i++ {
				if i > 0 {
					time.Sleep(tt.wait)
				}
				_, s := do(t, h, rec, request{cookies: cookie("session", "alice")})
				assertUser(t, s, "alice")
			}
			if got := f.calls.Load(); got != tt.wantCalls {
				t.Fatalf("resolver calls = %d, want %d", got, tt.wantCalls)
			}
		})
	}
}

func TestConcurrentMissesShareOneCall(t *testing.T) {
	f := newFakeResolver(t)
	f.delay.Store(int64(100 * time.Millisecond))
	h, rec := newHandler(t, f, nil)
	var wg sync.WaitGroup
	failures := make(chan string, 50)
	for i := 0; i < 50; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			req := httptest.NewRequest(http.MethodGet, "http://api.example.test/", nil)
			req.AddCookie(&http.Cookie{Name: "session", Value: "user:bob"})
			w := httptest.NewRecorder()
			h.ServeHTTP(w, req)
			if got := w.Header().Get("X-Backend-User"); got != "id-bob" {
				failures <- got
			}
		}()
	}
	wg.Wait()
	close(failures)
	for got := range failures {
		t.Fatalf("a waiting request saw user %q, want id-bob", got)
	}
	if got := f.calls.Load(); got != 1 {
		t.Fatalf("resolver calls = %d for 50 concurrent misses, want 1", got)
	}
	if rec.hits != 50 {
		t.Fatalf("backend reached %d times, want 50", rec.hits)
	}
}

func TestClientGivingUpDoesNotCancelTheSharedCall(t *testing.T) {
	f := newFakeResolver(t)
	f.delay.Store(int64(150 * time.Millisecond))
	h, _ := newHandler(t, f, nil)

	// The first request makes the call, and its client goes away.
	ctx, cancel := context.WithCancel(context.Background())
	first := httptest.NewRequest(http.MethodGet, "http://api.example.test/", nil).WithContext(ctx)
	first.AddCookie(&http.Cookie{Name: "session", Value: "user:carol"})
	done := make(chan struct{})
	go func() {
		h.ServeHTTP(httptest.NewRecorder(), first)
		close(done)
	}()
	time.Sleep(30 * time.Millisecond)

	// A second request waits for the same call.
	second := httptest.NewRequest(http.MethodGet, "http://api.example.test/", nil)
	second.AddCookie(&http.Cookie{Name: "session", Value: "user:carol"})
	w := httptest.NewRecorder()
	go func() {
		time.Sleep(20 * time.Millisecond)
		cancel()
	}()
	h.ServeHTTP(w, second)
	<-done
	if w.Code != http.StatusOK || w.Header().Get("X-Backend-User") != "id-carol" {
		t.Fatalf("waiting request got %d user %q, want 200 id-carol", w.Code, w.Header().Get("X-Backend-User"))
	}
	if got := f.calls.Load(); got != 1 {
		t.Fatalf("resolver calls = %d, want 1", got)
	}
}

func TestCacheIsBoundedByCacheMaxEntries(t *testing.T) {
	f := newFakeResolver(t)
	h, rec := newHandler(t, f, func(c *authgear.Config) { c.CacheMaxEntries = 2 })
	get := func(name string) {
		t.Helper()
		_, s := do(t, h, rec, request{cookies: cookie("session", name)})
		assertUser(t, s, name)
	}
	get("alice")
	get("bob")
	get("alice") // hit: alice is now the most recently used
	get("carol") // evicts bob, the least recently used
	if got := f.calls.Load(); got != 3 {
		t.Fatalf("resolver calls = %d, want 3", got)
	}
	get("alice") // still cached
	if got := f.calls.Load(); got != 3 {
		t.Fatalf("alice was evicted: resolver calls = %d, want 3", got)
	}
	get("bob") // was evicted
	if got := f.calls.Load(); got != 4 {
		t.Fatalf("bob was not evicted: resolver calls = %d, want 4", got)
	}
}

func TestResolverFailures(t *testing.T) {
	tests := []struct {
		name       string
		status     int           // resolver answers this status
		delay      time.Duration // resolver is this slow
		down       bool          // resolver refuses connections
		onError    string
		wantStatus int
	}{
		{name: "500 rejected", status: 500, wantStatus: 502},
		{name: "404 app not found rejected", status: 404, wantStatus: 502},
		{name: "301 redirect not followed", status: 301, wantStatus: 502},
		{name: "timeout rejected with 504", delay: 300 * time.Millisecond, wantStatus: 504},
		{name: "connection refused rejected", down: true, wantStatus: 502},
		{name: "500 anonymous", status: 500, onError: "anonymous", wantStatus: 200},
		{name: "timeout anonymous", delay: 300 * time.Millisecond, onError: "anonymous", wantStatus: 200},
		{name: "connection refused anonymous", down: true, onError: "anonymous", wantStatus: 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeResolver(t)
			f.status.Store(int64(tt.status))
			f.delay.Store(int64(tt.delay))
			h, rec := newHandler(t, f, func(c *authgear.Config) {
				c.Timeout = "100ms"
				if tt.onError != "" {
					c.OnResolverError = tt.onError
				}
			})
			if tt.down {
				f.srv.Close()
			}
			for i := 0; i < 2; i++ { // failures are not cached
				resp, s := do(t, h, rec, request{cookies: cookie("session", "alice")})
				if resp.StatusCode != tt.wantStatus {
					t.Fatalf("status %d, want %d", resp.StatusCode, tt.wantStatus)
				}
				if tt.wantStatus == 200 {
					assertNoIdentity(t, s)
					continue
				}
				if s.called {
					t.Fatal("the backend was reached on a resolver failure")
				}
				if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") {
					t.Fatalf("Content-Type %q, want text/plain", ct)
				}
			}
			if !tt.down && f.calls.Load() != 2 {
				t.Fatalf("resolver calls = %d, want 2: a failure must not be cached", f.calls.Load())
			}
		})
	}
}

func TestStaleIfError(t *testing.T) {
	tests := []struct {
		name       string
		stale      string
		wantStatus int
	}{
		{"stale answer used within staleIfError", "10s", 200},
		{"no stale answer without staleIfError", "0", 502},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeResolver(t)
			h, rec := newHandler(t, f, func(c *authgear.Config) { c.CacheTTL = "0.05"; c.StaleIfError = tt.stale })
			_, s := do(t, h, rec, request{header: bearer("bob")})
			assertUser(t, s, "bob")
			time.Sleep(80 * time.Millisecond)
			f.status.Store(500)
			resp, s := do(t, h, rec, request{header: bearer("bob")})
			if resp.StatusCode != tt.wantStatus {
				t.Fatalf("status %d, want %d", resp.StatusCode, tt.wantStatus)
			}
			if tt.wantStatus == 200 {
				assertUser(t, s, "bob")
			}
			// Another user's credentials never get bob's stale answer.
			resp, s = do(t, h, rec, request{header: bearer("alice")})
			if resp.StatusCode != http.StatusBadGateway || s.called {
				t.Fatalf("alice during the failure: status %d, backend reached %v; want 502, not reached", resp.StatusCode, s.called)
			}
			if got := f.calls.Load(); got != 3 {
				t.Fatalf("resolver calls = %d, want 3: the stale answer must be re-checked", got)
			}
		})
	}
}

func TestStaleIfErrorWorksWithCacheOff(t *testing.T) {
	f := newFakeResolver(t)
	h, rec := newHandler(t, f, func(c *authgear.Config) { c.CacheTTL = "0"; c.StaleIfError = "10s" })
	do(t, h, rec, request{header: bearer("bob")})
	do(t, h, rec, request{header: bearer("bob")})
	if got := f.calls.Load(); got != 2 {
		t.Fatalf("resolver calls = %d, want 2 with the cache off", got)
	}
	f.status.Store(500)
	resp, s := do(t, h, rec, request{header: bearer("bob")})
	if resp.StatusCode != 200 {
		t.Fatalf("status %d, want 200 from the stale answer", resp.StatusCode)
	}
	assertUser(t, s, "bob")
}

func TestAccessPolicy(t *testing.T) {
	type want struct {
		status   int
		location string // for 302
	}
	tests := []struct {
		name string
		edit func(*authgear.Config)
		r    request
		want want
	}{
		{"no policy lets anonymous in", func(c *authgear.Config) {}, request{}, want{status: 200}},
		{"requireSession refuses anonymous", func(c *authgear.Config) { c.RequireSession = true }, request{}, want{status: 401}},
		{"requireSession refuses an unknown session", func(c *authgear.Config) { c.RequireSession = true }, request{cookies: map[string]string{"session": "bogus"}}, want{status: 401}},
		{"requireSession refuses an invalid token", func(c *authgear.Config) { c.RequireSession = true }, request{header: bearer("mallory")}, want{status: 401}},
		{"requireSession admits a session", func(c *authgear.Config) { c.RequireSession = true }, request{header: bearer("carol")}, want{status: 200}},
		{"requireSession admits an anonymous user", func(c *authgear.Config) { c.RequireSession = true }, request{header: bearer("anon")}, want{status: 200}},
		{"rejectAnonymousUsers refuses an anonymous user", func(c *authgear.Config) { c.RequireSession = true; c.RejectAnonymousUsers = true }, request{header: bearer("anon")}, want{status: 401}},
		{"allowedRoles admits a role", func(c *authgear.Config) { c.AllowedRoles = []string{"admin"} }, request{header: bearer("alice")}, want{status: 200}},
		{"allowedRoles as comma string", func(c *authgear.Config) { c.AllowedRoles = []string{"ops,editor"} }, request{header: bearer("bob")}, want{status: 200}},
		{"allowedRoles refuses other roles", func(c *authgear.Config) { c.AllowedRoles = []string{"admin"} }, request{header: bearer("bob")}, want{status: 403}},
		{"allowedRoles refuses no roles", func(c *authgear.Config) { c.AllowedRoles = []string{"admin"} }, request{header: bearer("carol")}, want{status: 403}},
		{"allowedRoles implies requireSession", func(c *authgear.Config) { c.AllowedRoles = []string{"admin"} }, request{}, want{status: 401}},
		{"allowedRoles does not redirect a signed-in user", func(c *authgear.Config) { c.AllowedRoles = []string{"admin"}; c.LoginURL = "/login" }, request{header: map[string]string{"Authorization": "Bearer user:bob", "Accept": "text/html"}}, want{status: 403}},
		{"loginURL redirects a navigation", func(c *authgear.Config) {
			c.RequireSession = true
			c.LoginURL = "https://myapp.authgear.cloud/login"
		}, request{header: map[string]string{"Accept": "text/html,application/xhtml+xml"}}, want{status: 302, location: "https://myapp.authgear.cloud/login?redirect_uri=" + url.QueryEscape("http://api.example.test/things?id=1")}},
		{"loginURL keeps its query and the forwarded scheme", func(c *authgear.Config) {
			c.RequireSession = true
			c.LoginURL = "/login?app=1"
		}, request{header: map[string]string{"Accept": "text/html", "X-Forwarded-Proto": "https"}}, want{status: 302, location: "/login?app=1&redirect_uri=" + url.QueryEscape("https://api.example.test/things?id=1")}},
		{"loginURL does not redirect an API call", func(c *authgear.Config) { c.RequireSession = true; c.LoginURL = "/login" }, request{header: map[string]string{"Accept": "application/json"}}, want{status: 401}},
		{"loginURL does not redirect a POST", func(c *authgear.Config) { c.RequireSession = true; c.LoginURL = "/login" }, request{method: "POST", header: map[string]string{"Accept": "text/html"}}, want{status: 401}},
		{"CORS preflight passes", func(c *authgear.Config) { c.AllowedRoles = []string{"admin"} }, request{method: "OPTIONS", header: map[string]string{"Origin": "https://app.example.test", "Access-Control-Request-Method": "POST"}}, want{status: 200}},
		{"plain OPTIONS is refused", func(c *authgear.Config) { c.RequireSession = true }, request{method: "OPTIONS"}, want{status: 401}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeResolver(t)
			h, rec := newHandler(t, f, tt.edit)
			resp, s := do(t, h, rec, tt.r)
			if resp.StatusCode != tt.want.status {
				t.Fatalf("status %d, want %d", resp.StatusCode, tt.want.status)
			}
			if s.called != (tt.want.status == 200) {
				t.Fatalf("backend reached = %v with status %d", s.called, resp.StatusCode)
			}
			if got := resp.Header.Get("Location"); got != tt.want.location {
				t.Fatalf("Location %q, want %q", got, tt.want.location)
			}
		})
	}
}

func TestResolverCookiesReachTheClient(t *testing.T) {
	tests := []struct {
		name    string
		forward bool
		require bool
		want    string
	}{
		{"forwarded", true, false, "session=; Path=/; Expires=Thu, 01 Jan 1970 00:00:00 GMT; HttpOnly; SameSite=Lax"},
		{"forwarded on 401", true, true, "session=; Path=/; Expires=Thu, 01 Jan 1970 00:00:00 GMT; HttpOnly; SameSite=Lax"},
		{"not forwarded", false, false, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeResolver(t)
			h, rec := newHandler(t, f, func(c *authgear.Config) { c.ForwardResolverCookies = tt.forward; c.RequireSession = tt.require })
			for i := 0; i < 2; i++ { // from the resolver, then from the cache
				resp, _ := do(t, h, rec, request{cookies: map[string]string{"session": "expired"}})
				if got := strings.Join(resp.Header.Values("Set-Cookie"), "|"); got != tt.want {
					t.Fatalf("request %d: Set-Cookie %q, want %q", i, got, tt.want)
				}
			}
			if f.calls.Load() != 1 {
				t.Fatalf("resolver calls = %d, want 1", f.calls.Load())
			}
		})
	}
}

func TestRequestGoesOnIntactAndTheResolverGetsABodilessGET(t *testing.T) {
	f := newFakeResolver(t)
	h, rec := newHandler(t, f, nil)
	req := httptest.NewRequest(http.MethodPost, "http://api.example.test/upload?x=1", strings.NewReader(`{"name":"report"}`))
	req.RemoteAddr = "203.0.113.7:4321"
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer user:alice")
	req.Header.Set("User-Agent", "test-agent/1")
	req.Header.Set("X-Forwarded-For", "198.51.100.1")
	req.Header.Set("X-Forwarded-Host", "api.example.test")
	req.Header.Set("Keep-Alive", "timeout=5")
	req.Header.Set("Te", "trailers")
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	s := rec.last
	if s.method != http.MethodPost || s.body != `{"name":"report"}` {
		t.Fatalf("backend got %s %q, want POST with the body", s.method, s.body)
	}
	assertUser(t, s, "alice")

	got := f.lastRequest(t)
	checks := []struct{ what, got, want string }{
		{"method", got.method, "GET"},
		{"path", got.path, "/_resolver/resolve"},
		{"body", got.body, ""},
		{"Host", got.host, publicHost},
		{"X-Forwarded-Host", got.header.Get("X-Forwarded-Host"), publicHost},
		{"X-Forwarded-For", got.header.Get("X-Forwarded-For"), "198.51.100.1, 203.0.113.7"},
		{"Authorization", got.header.Get("Authorization"), "Bearer user:alice"},
		{"User-Agent", got.header.Get("User-Agent"), "test-agent/1"},
		{"Content-Type", got.header.Get("Content-Type"), ""},
		{"Content-Length", got.header.Get("Content-Length"), ""},
		{"Keep-Alive", got.header.Get("Keep-Alive"), ""},
		{"Te", got.header.Get("Te"), ""},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("resolver request %s = %q, want %q", c.what, c.got, c.want)
		}
	}
}

func TestResolverNeverGetsSpoofedIdentityHeaders(t *testing.T) {
	f := newFakeResolver(t)
	h, rec := newHandler(t, f, nil)
	do(t, h, rec, request{header: map[string]string{"Authorization": "Bearer user:bob", "X_Authgear_User_Id": "forged"}})
	if id := identityOf(f.lastRequest(t).header); len(id) != 0 {
		t.Fatalf("resolver got identity headers %v", id)
	}
}

func TestRoutersSharingAMiddlewareShareItsCache(t *testing.T) {
	f := newFakeResolver(t)
	cfg := authgear.CreateConfig()
	cfg.ResolverURL = f.url()
	cfg.ResolverHost = publicOrigin
	build := func(c *authgear.Config) (http.Handler, *recorder) {
		rec := &recorder{}
		h, err := authgear.New(context.Background(), rec, c, "shared@file")
		if err != nil {
			t.Fatal(err)
		}
		return h, rec
	}
	h1, rec1 := build(cfg)
	h2, rec2 := build(cfg)
	do(t, h1, rec1, request{header: bearer("alice")})
	_, s := do(t, h2, rec2, request{header: bearer("alice")})
	assertUser(t, s, "alice")
	if got := f.calls.Load(); got != 1 {
		t.Fatalf("resolver calls = %d across two routers, want 1", got)
	}

	// A reload with the same settings keeps the cache warm.
	reloaded := *cfg
	h3, rec3 := build(&reloaded)
	do(t, h3, rec3, request{header: bearer("alice")})
	if got := f.calls.Load(); got != 1 {
		t.Fatalf("resolver calls = %d after a same-settings reload, want 1", got)
	}

	// A reload with other settings starts a new cache.
	changed := *cfg
	changed.CacheTTL = "30s"
	h4, rec4 := build(&changed)
	do(t, h4, rec4, request{header: bearer("alice")})
	if got := f.calls.Load(); got != 2 {
		t.Fatalf("resolver calls = %d after a changed-settings reload, want 2", got)
	}
}

func TestResponseWriterIsNotWrapped(t *testing.T) {
	f := newFakeResolver(t)
	cfg := authgear.CreateConfig()
	cfg.ResolverURL = f.url()
	var got http.ResponseWriter
	next := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { got = w })
	h, err := authgear.New(context.Background(), next, cfg, t.Name())
	if err != nil {
		t.Fatal(err)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "http://api.example.test/", nil))
	if got != w {
		t.Fatal("the next handler got a wrapped ResponseWriter: WebSockets, streaming and HTTP/2 need the original")
	}
}

func TestFailureAnswerIsShortPlainText(t *testing.T) {
	f := newFakeResolver(t)
	f.status.Store(500)
	h, rec := newHandler(t, f, nil)
	resp, _ := do(t, h, rec, request{header: bearer("alice")})
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 502 || len(body) == 0 || len(body) > 200 || strings.Contains(string(body), "user:alice") {
		t.Fatalf("got %d %q, want a short 502 without credentials", resp.StatusCode, body)
	}
}
