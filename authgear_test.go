package authgear_test

import (
	"context"
	"encoding/pem"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	authgear "github.com/traefik-authgear/traefik-authgear"
)

func TestNewValidatesOptions(t *testing.T) {
	if cfg := authgear.CreateConfig(); cfg.Timeout != "5s" || cfg.CacheTTL != "10s" || cfg.StaleWhileRevalidate != "5m" || cfg.CacheMaxEntries != 10000 ||
		cfg.StaleIfError != "0" || cfg.OnResolverError != "reject" || !cfg.ForwardResolverCookies || cfg.RequireSession || cfg.CookiePrefix != "" {
		t.Fatalf("CreateConfig() = %+v, want the documented defaults", cfg)
	}
	tests := []struct {
		name string
		edit func(*authgear.Config)
		err  string // what the error names; "" when New accepts the configuration
	}{
		{"missing resolverURL", func(c *authgear.Config) { c.ResolverURL = "" }, "resolverURL is required"},
		{"relative resolverURL", func(c *authgear.Config) { c.ResolverURL = "/_resolver/resolve" }, "resolverURL"},
		{"ftp resolverURL", func(c *authgear.Config) { c.ResolverURL = "ftp://auth/_resolver/resolve" }, "resolverURL"},
		{"trailing slash resolverURL", func(c *authgear.Config) { c.ResolverURL = "https://auth/_resolver/resolve/" }, "must not end with a slash"},
		{"resolverHost with a path", func(c *authgear.Config) { c.ResolverHost = "https://auth.example.com/app" }, `resolverHost "https://auth.example.com/app" must be`},
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
		{"webhookPeers without webhookPath", func(c *authgear.Config) { c.WebhookPeers = []string{"peers:8000"} }, "webhookPeers needs webhookPath"},
		{"metricsPath relative", func(c *authgear.Config) { c.MetricsPath = "metrics" }, "metricsPath"},
		{"metricsAllowedIPs not an address", func(c *authgear.Config) { c.MetricsPath = "/m"; c.MetricsAllowedIPs = []string{"internal"} }, "metricsAllowedIPs"},
		{"both secrets", func(c *authgear.Config) {
			c.WebhookPath = "/hook"
			c.WebhookSecret = "s"
			c.WebhookSecretFile = emptySecretFile
		}, "both set"},
		{"mistyped allowedRoles", func(c *authgear.Config) { c.UnknownOptions = map[string]interface{}{"allowedRole": "admin"} }, `unknown option "allowedRole": did you mean "allowedRoles"?`},
		{"mistyped requireSession", func(c *authgear.Config) { c.UnknownOptions = map[string]interface{}{"requireSesion": "true"} }, `unknown option "requireSesion": did you mean "requireSession"?`},
		{"mistyped tls option", func(c *authgear.Config) { c.TLS.UnknownOptions = map[string]interface{}{"insecureSkipVerfy": true} }, `unknown option "tls.insecureSkipVerfy": did you mean "tls.insecureSkipVerify"?`},
		{"an option nothing is near", func(c *authgear.Config) { c.UnknownOptions = map[string]interface{}{"frobnicate": 1} }, `unknown option "frobnicate": the options are resolverURL`},
		{"allowedRoles with no role in it", func(c *authgear.Config) { c.AllowedRoles = []string{","} }, "allowedRoles has no role"},
		{"allowedRoles blank", func(c *authgear.Config) { c.AllowedRoles = []string{" ", ""} }, "allowedRoles has no role"},
		{"requireAMR with no method in it", func(c *authgear.Config) { c.RequireAMR = []string{" , "} }, "requireAMR has no authentication method"},
		{"requireAMR item with a quote", func(c *authgear.Config) { c.RequireAMR = []string{`mfa"`} }, "requireAMR item"},
		{"maxAuthAge negative", func(c *authgear.Config) { c.MaxAuthAge = "-5m" }, "maxAuthAge"},
		{"maxAuthAge words", func(c *authgear.Config) { c.MaxAuthAge = "soon" }, "maxAuthAge"},
		{"maxAuthAge zero", func(c *authgear.Config) { c.MaxAuthAge = "0" }, "maxAuthAge"},
		{"maxAuthAge under a second", func(c *authgear.Config) { c.MaxAuthAge = "500ms" }, "maxAuthAge"},
		{"maxAuthAge past its bound", func(c *authgear.Config) { c.MaxAuthAge = "721h" }, "maxAuthAge"},
		{"mistyped maxAuthAge", func(c *authgear.Config) { c.UnknownOptions = map[string]interface{}{"maxAuthAges": "5m"} }, `did you mean "maxAuthAge"?`},
		// Accepted: values as users write them.
		{"policies", func(c *authgear.Config) {
			c.RequireVerified = true
			c.RequireAMR = []string{"mfa, otp", "x_passkey"}
			c.MaxAuthAge = "300"
		}, ""},
		{"maxAuthAge at its bound", func(c *authgear.Config) { c.MaxAuthAge = "720h" }, ""},
		{"defaults", func(c *authgear.Config) {}, ""},
		{"durations with units", func(c *authgear.Config) { c.Timeout = "1500ms"; c.CacheTTL = "5m"; c.StaleIfError = "1h" }, ""},
		{"bare seconds", func(c *authgear.Config) { c.Timeout = "30"; c.CacheTTL = "0"; c.StaleIfError = "0.5" }, ""},
		{"padded values", func(c *authgear.Config) { c.Timeout = " 5s "; c.OnResolverError = " Anonymous " }, ""},
		{"roles as one comma string", func(c *authgear.Config) { c.AllowedRoles = []string{"admin, editor"} }, ""},
		{"loginURL path", func(c *authgear.Config) { c.LoginURL = "/login"; c.RequireSession = true }, ""},
		{"loginURL absolute", func(c *authgear.Config) { c.LoginURL = "https://myapp.authgear.cloud/login?x=1" }, ""},
		{"resolverHost with port", func(c *authgear.Config) { c.ResolverHost = "auth.example.com:8443" }, ""},
		{"resolverHost as an origin", func(c *authgear.Config) { c.ResolverHost = "https://auth.example.com" }, ""},
		{"durations at their bounds", func(c *authgear.Config) { c.Timeout = "5m"; c.CacheTTL = "24h"; c.StaleIfError = "86400" }, ""},
		{"insecure TLS", func(c *authgear.Config) { c.TLS.InsecureSkipVerify = true }, ""},
		{"webhook", func(c *authgear.Config) { c.WebhookPath = "/_authgear/webhook"; c.WebhookSecret = "secret" }, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := authgear.CreateConfig()
			cfg.ResolverURL = "https://myapp.authgear.cloud/_resolver/resolve"
			tt.edit(cfg)
			_, err := authgear.New(context.Background(), http.NotFoundHandler(), cfg, t.Name())
			switch {
			case tt.err == "" && err != nil:
				t.Fatalf("New: %v", err)
			case tt.err != "" && err == nil:
				t.Fatal("New succeeded, want an error")
			case err != nil && !strings.Contains(err.Error(), tt.err):
				t.Fatalf("error %q does not name %q", err, tt.err)
			}
		})
	}
}

// New's errors, which Traefik logs at ERROR, never show the user
// information, query or fragment of a URL-like option, nor any of a value
// that does not parse: a URL is often refused because it carries a password.
func TestNewErrorsNeverShowCredentials(t *testing.T) {
	tests := []struct{ option, value string }{
		{"resolverURL", "https://user:s3cret@myapp.authgear.cloud/_resolver/resolve"},
		{"resolverURL", "user:s3cret@myapp.authgear.cloud/_resolver/resolve"},
		{"resolverURL", "https://admin:1234/s3cret@myapp.authgear.cloud/_resolver/resolve/"},
		{"resolverURL", "ftp://myapp.authgear.cloud/_resolver/resolve?token=s3cret"},
		{"resolverURL", "https://myapp.authgear.cloud/_resolver/resolve/?token=s3cret"},
		{"resolverURL", "https://myapp.authgear.cloud/_resolver/resolve#s3cret"},
		{"resolverURL", "http://[::1%s3cret"},
		{"resolverURL", "https://myapp.authgear.cloud/\x7fs3cret"},
		{"resolverURL", "https://myapp.authgear.cloud/%zzs3cret"},
		{"resolverHost", "https://user:s3cret@auth.example.com"},
		{"resolverHost", "user:s3cret@auth.example.com"},
		{"resolverHost", "https://auth.example.com?token=s3cret"},
		{"resolverHost", "auth.example.com?token=s3cret"},
		{"resolverHost", "https://auth.example.com#s3cret"},
		{"resolverHost", "http://[::1%s3cret"},
		{"resolverHost", "https://auth.example.com/\x7fs3cret"},
		{"resolverHost", "https://auth.example.com/%zzs3cret"},
		{"loginURL", "ftp://user:s3cret@myapp.authgear.cloud/login"},
		{"loginURL", "https://user:s3cret@myapp.authgear.cloud\\login"},
		{"loginURL", "login?token=s3cret"},
		{"loginURL", "/\\evil.example/login?token=s3cret"},
		{"loginURL", "login#s3cret"},
		{"loginURL", "javascript:alert('s3cret')"},
		{"loginURL", "http://[::1%s3cret"},
		{"loginURL", "/login\x7fs3cret"},
		{"loginURL", "/login%zzs3cret"},
	}
	for _, tt := range tests {
		t.Run(tt.option+"/"+tt.value, func(t *testing.T) {
			cfg := authgear.CreateConfig()
			cfg.ResolverURL = "https://myapp.authgear.cloud/_resolver/resolve"
			switch tt.option {
			case "resolverURL":
				cfg.ResolverURL = tt.value
			case "resolverHost":
				cfg.ResolverHost = tt.value
			case "loginURL":
				cfg.LoginURL = tt.value
			}
			// Not t.Name(): the middleware's name, in the message, holds the value.
			_, err := authgear.New(context.Background(), http.NotFoundHandler(), cfg, "credentials")
			switch {
			case err == nil:
				t.Fatal("New succeeded, want an error")
			case !strings.Contains(err.Error(), tt.option):
				t.Fatalf("error %q does not name %s", err, tt.option)
			case strings.Contains(err.Error(), "s3cret"):
				t.Fatalf("error %q shows the credential", err)
			}
		})
	}
}

// A configuration file (webhookSecretFile, tls.ca) that is not a small
// regular file is refused at once, naming the option: a FIFO would block
// Traefik's configuration load forever, /dev/zero or a huge file would
// allocate without bound. A symbolic link (a Kubernetes secret mount) to a
// regular file is followed.
func TestNewReadsOnlySmallRegularConfigFiles(t *testing.T) {
	caPEM := certificatePEM()
	options := []struct {
		name  string
		limit int    // the documented bound
		good  string // content New accepts
		set   func(c *authgear.Config, path string)
	}{
		{"webhookSecretFile", 4 << 10, "s3cret-webhook-key", func(c *authgear.Config, path string) {
			c.WebhookPath = "/hook"
			c.WebhookSecretFile = path
		}},
		{"tls.ca", 1 << 20, caPEM, func(c *authgear.Config, path string) { c.TLS.CA = path }},
	}
	files := []struct {
		name     string
		make     func(t *testing.T, good string, limit int) string // returns the path
		accepted bool
	}{
		{"FIFO", makePipe, false},
		{"directory", func(t *testing.T, good string, limit int) string { return t.TempDir() }, false},
		{"/dev/zero", func(t *testing.T, good string, limit int) string {
			if _, err := os.Stat("/dev/zero"); err != nil {
				t.Skip("this system has no /dev/zero")
			}
			return "/dev/zero"
		}, false},
		{"one byte over the bound", func(t *testing.T, good string, limit int) string {
			return writeConfigFile(t, good+strings.Repeat("\n", limit+1-len(good)))
		}, false},
		{"at the bound", func(t *testing.T, good string, limit int) string {
			return writeConfigFile(t, good+strings.Repeat("\n", limit-len(good)))
		}, true},
		{"symlink to a regular file", func(t *testing.T, good string, limit int) string {
			link := filepath.Join(t.TempDir(), "link")
			if err := os.Symlink(writeConfigFile(t, good), link); err != nil {
				t.Skipf("cannot create a symbolic link: %v", err)
			}
			return link
		}, true},
	}
	for _, opt := range options {
		for _, file := range files {
			t.Run(opt.name+"/"+file.name, func(t *testing.T) {
				path := file.make(t, opt.good, opt.limit)
				cfg := authgear.CreateConfig()
				cfg.ResolverURL = "https://myapp.authgear.cloud/_resolver/resolve"
				opt.set(cfg, path)
				err := newWithin(t, cfg)
				switch {
				case file.accepted && err != nil:
					t.Fatalf("New: %v", err)
				case !file.accepted && err == nil:
					t.Fatal("New succeeded, want an error")
				case err != nil && !strings.HasPrefix(err.Error(), "authgear middleware "+strconv.Quote(t.Name())+": "+opt.name+": "):
					t.Fatalf("error %q does not name %s", err, opt.name)
				case err != nil && (strings.Contains(err.Error(), "s3cret") || strings.Contains(err.Error(), "BEGIN")):
					t.Fatalf("error %q shows the file's contents", err)
				}
			})
		}
	}
}

// makePipe returns a path that Stat reports as a FIFO: a pipe's read end,
// through /proc/self/fd, as /dev/stdin is when Traefik's input is a pipe.
// Reading it blocks while its write end, held until the test ends, is open.
// (A mkfifo'd file would need syscall or os/exec, which Yaegi lacks.)
func makePipe(t *testing.T, good string, limit int) string {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.Close(); r.Close() }) // closing w releases a New stuck reading
	path := "/proc/self/fd/" + strconv.Itoa(int(r.Fd()))
	if info, err := os.Stat(path); err != nil || info.Mode()&os.ModeNamedPipe == 0 {
		t.Skip("this system has no /proc/self/fd to reach a pipe by path")
	}
	return path
}

// certificatePEM is the PEM of httptest's TLS certificate, a CA tls.ca
// accepts.
func certificatePEM() string {
	srv := httptest.NewTLSServer(http.NotFoundHandler())
	defer srv.Close()
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}))
}

// writeConfigFile writes content to a new file and returns its path.
func writeConfigFile(t *testing.T, content string) string {
	path := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// newWithin runs New and fails the test, instead of hanging the suite, if
// New has not returned within 5 s.
func newWithin(t *testing.T, cfg *authgear.Config) error {
	done := make(chan error, 1)
	go func() {
		_, err := authgear.New(context.Background(), http.NotFoundHandler(), cfg, t.Name())
		done <- err
	}()
	select {
	case err := <-done:
		return err
	case <-time.After(5 * time.Second):
		t.Fatal("New did not return within 5 s")
		return nil
	}
}

// A forged identity header, in every spelling, with no, cached or resolved
// credentials, reaches neither backend nor resolver, nor stays in Connection
// or the declared trailers.
func TestSpoofedIdentityHeadersAreRemovedEverywhere(t *testing.T) {
	spellings := []string{
		"X-Authgear-User-Id", "x-authgear-user-id", "X-AUTHGEAR-USER-ID", "X_Authgear_User_Id",
		"x_authgear_user_id", "X-Authgear_User-Id", "X_AUTHGEAR-USER_ID", "X-Authgear-Session-Valid",
		"X-Authgear-User-Roles", "X-Authgear-Anything-New", "X-Authgear-",
	}
	f, h, rec := newHandler(t, nil)
	for _, name := range spellings {
		for _, who := range []string{"none", "bob", "resolved"} {
			t.Run(name+"/"+who, func(t *testing.T) {
				r := request{header: map[string]string{name: "admin-forged", "Connection": name}}
				user, wantConnection := "", "" // a Connection header naming only identity headers goes
				switch who {
				case "bob":
					r.header["Authorization"] = "Bearer user:bob"
					r.header["Connection"] = "keep-alive, " + name
					user = "bob"
					wantConnection = "keep-alive"
				case "resolved":
					r.header["Authorization"] = "Bearer unknown-" + name
				}
				req := r.build()
				req.Trailer = http.Header{name: nil, "X-Checksum": nil}
				calls := f.calls.Load()
				w, s := serve(h, rec, req)
				if w.Code != http.StatusOK {
					t.Fatalf("status %d", w.Code)
				}
				for n, v := range s.identity {
					if strings.Contains(v, "forged") {
						t.Fatalf("forged header %s: %s reached the backend", n, v)
					}
				}
				assertUser(t, s, user)
				if got := strings.Join(s.header["Connection"], ","); got != wantConnection {
					t.Fatalf("backend saw Connection %q, want %q", got, wantConnection)
				}
				if _, ok := s.trailer["X-Checksum"]; !ok || len(s.trailer) != 1 {
					t.Fatalf("backend saw trailers %v, want only X-Checksum", s.trailer)
				}
				if who == "resolved" {
					if f.calls.Load() != calls+1 {
						t.Fatal("the resolver was not asked")
					}
					if id := identityOf(f.lastRequest(t).header); len(id) != 0 {
						t.Fatalf("resolver got identity headers %v", id)
					}
				}
			})
		}
	}
}

func TestUsersNeverSeeEachOthersIdentity(t *testing.T) {
	f, h, rec := newHandler(t, nil)
	sources := []string{"Authorization", "session", "app_session", "app_access_token"}
	names := []string{"alice", "bob", "carol", "anon"}
	for round := 0; round < 3; round++ {
		for i, source := range sources {
			for _, name := range names {
				r := request{header: bearer(name)}
				if source != "Authorization" {
					r.header = cookie(source, name)
				}
				_, s := do(h, rec, r)
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

// TestCaching's hits also show that the recorder's edits miss the cache.
func TestCaching(t *testing.T) {
	tests := []struct {
		name, ttl, swr string // cacheTTL, staleWhileRevalidate
		requests       int
		wait           time.Duration // before each request
		wantCalls      int64
	}{
		{"cache hits", "60s", "0", 5, 0, 1},
		{"cache off", "0", "0", 5, 0, 5},
		{"expiry", "0.05", "0", 3, 80 * time.Millisecond, 3},
		{"cacheTTL 0 turns revalidation off", "0", "1h", 3, 0, 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, h, rec := newHandler(t, func(c *authgear.Config) { c.CacheTTL = tt.ttl; c.StaleWhileRevalidate = tt.swr })
			for i := 0; i < tt.requests; i++ {
				time.Sleep(tt.wait)
				_, s := do(h, rec, request{header: cookie("session", "alice")})
				assertUser(t, s, "alice")
			}
			if got := f.calls.Load(); got != tt.wantCalls {
				t.Fatalf("resolver calls = %d, want %d", got, tt.wantCalls)
			}
		})
	}
}

// Concurrent misses share one call, which outlives the client that started
// it; a call that nobody waits for any more is cancelled.
func TestConcurrentMissesShareOneCall(t *testing.T) {
	f, h, rec := newHandler(t, func(c *authgear.Config) { withMetrics(c); c.Timeout = "1m" })
	f.hold()
	ctx, cancel := context.WithCancel(context.Background())
	first := serveAsync(h, ctx, "Bearer user:bob")
	f.awaitArrival(t)
	results := make([]chan *httptest.ResponseRecorder, 49)
	for i := 0; i < len(results); i++ {
		results[i] = serveAsync(h, nil, "Bearer user:bob")
	}
	awaitMetric(t, h, "authgear_requests_total", `,outcome="cache_miss"`, 50) // every request has joined the one call
	cancel()
	select { // a cancelled call would reach the resolver at once
	case <-f.cancelled:
		t.Fatal("the call was cancelled while requests still waited for it")
	case <-time.After(100 * time.Millisecond):
	}
	f.release(1)
	for i := 0; i < len(results); i++ {
		if got := backendUser(outcome(t, results[i])); got != "id-bob" {
			t.Fatalf("a waiting request saw user %q, want id-bob", got)
		}
	}
	outcome(t, first)
	if got := f.calls.Load(); got != 1 || rec.hits < 49 {
		t.Fatalf("resolver calls = %d, backend hits %d for 50 concurrent misses; want 1 call, every waiting request passed on", got, rec.hits)
	}

	alone, leave := context.WithCancel(context.Background())
	gone := serveAsync(h, alone, "Bearer user:carol")
	f.awaitArrival(t)
	leave()
	select {
	case <-f.cancelled:
	case <-time.After(5 * time.Second):
		t.Fatal("the resolver call went on for 5 s after its only client had gone")
	}
	if w := outcome(t, gone); w.Code != 499 {
		t.Fatalf("the departed client's request ended with %d, want 499", w.Code)
	}
}

func TestCacheIsBoundedByCacheMaxEntries(t *testing.T) {
	f, h, rec := newHandler(t, func(c *authgear.Config) { c.CacheMaxEntries = 2 })
	for i, step := range []struct {
		name  string
		calls int64 // after the request
	}{
		{"alice", 1}, {"bob", 2},
		{"alice", 2}, // hit: alice is now the most recently used
		{"carol", 3}, // evicts bob, the least recently used
		{"alice", 3}, // still cached
		{"bob", 4},   // was evicted
	} {
		_, s := do(h, rec, request{header: cookie("session", step.name)})
		assertUser(t, s, step.name)
		if got := f.calls.Load(); got != step.calls {
			t.Fatalf("request %d (%s): resolver calls = %d, want %d", i, step.name, got, step.calls)
		}
	}
}

// A resolver failure refuses a request with a short plain-text 502 (504 on a
// timeout), or lets it on without identity (onResolverError: anonymous); it
// is not cached and leaves fresh answers alone. Within staleIfError, an
// expired answer is served instead, only when Authgear could not answer (5xx,
// timeout, refused connection), only to its own credentials, re-checked each time.
func TestResolverFailures(t *testing.T) {
	tests := []struct {
		name, ttl, stale, onError string // cacheTTL, staleIfError, onResolverError
		failure                   int64  // the resolver's answer; 0: it hangs, -1: it is down
		bob, others               int    // the status of bob (cached) and of alice's requests
	}{
		{"500 rejected", "10s", "0", "reject", 500, 200, 502},
		{"404 app not found rejected", "10s", "0", "reject", 404, 200, 502},
		{"301 redirect not followed", "10s", "0", "reject", 301, 200, 502},
		{"timeout rejected with 504", "10s", "0", "reject", 0, 200, 504},
		{"connection refused rejected", "10s", "0", "reject", -1, 200, 502},
		{"500 anonymous", "10s", "0", "anonymous", 500, 200, 200},
		{"timeout anonymous", "10s", "0", "anonymous", 0, 200, 200},
		{"connection refused anonymous", "10s", "0", "anonymous", -1, 200, 200},
		{"expired answer used within staleIfError", "0.05", "10s", "reject", 500, 200, 502},
		{"no stale answer without staleIfError", "0.05", "0", "reject", 500, 502, 502},
		{"with the cache off, 500 serves the stale answer", "0", "1h", "reject", 500, 200, 502},
		{"503 serves the stale answer", "0", "1h", "reject", 503, 200, 502},
		{"timeout serves the stale answer", "0", "1h", "reject", 0, 200, 504},
		{"a refused connection serves the stale answer", "0", "1h", "reject", -1, 200, 502},
		{"431 from a client's oversized header does not, and is passed on", "0", "1h", "reject", 431, 431, 431},
		{"400 does not", "0", "1h", "reject", 400, 502, 502},
		{"404 does not", "0", "1h", "reject", 404, 502, 502},
		{"a redirect does not", "0", "1h", "reject", 301, 502, 502},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, h, rec := newHandler(t, func(c *authgear.Config) {
				c.CacheTTL, c.StaleIfError, c.OnResolverError, c.Timeout = tt.ttl, tt.stale, tt.onError, "200ms"
			})
			_, s := do(h, rec, request{header: bearer("bob")})
			assertUser(t, s, "bob")
			if tt.ttl == "0.05" {
				time.Sleep(80 * time.Millisecond) // past cacheTTL
			}
			switch tt.failure {
			case 0:
				f.hold()
			case -1:
				f.srv.Close()
			default:
				f.status.Store(tt.failure)
			}
			for i, who := range []string{"bob", "alice", "alice"} {
				want := map[string]int{"bob": tt.bob, "alice": tt.others}[who]
				w, s := do(h, rec, request{header: bearer(who)})
				body := w.Body.String()
				switch {
				case w.Code != want:
					t.Fatalf("request %d: status %d, want %d", i, w.Code, want)
				case want == 200 && i == 0:
					assertUser(t, s, "bob")
				case want == 200:
					assertUser(t, s, "")
				case s.called:
					t.Fatalf("request %d: the backend was reached on a resolver failure", i)
				case !strings.HasPrefix(w.Header().Get("Content-Type"), "text/plain") || body == "" || len(body) > 200 || strings.Contains(body, "user:"):
					t.Fatalf("request %d: answer %q %q, want short plain text without the credentials", i, w.Header().Get("Content-Type"), body)
				}
			}
			// bob's answer, a call if it was not fresh, one per alice request.
			if got, calls := f.calls.Load(), map[bool]int64{true: 3, false: 4}[tt.ttl == "10s"]; got != calls && tt.failure != -1 {
				t.Fatalf("resolver calls = %d, want %d", got, calls)
			}
		})
	}
}

// Which credentials give the identity, in Authgear's order, the resolver
// calls and request that takes, and what the access policy does.
func TestCredentialsResolverRequestAndAccessPolicy(t *testing.T) {
	type want struct {
		status   int
		calls    int64
		user     string // for 200: the backend's user, "" for no identity
		invalid  bool   // for 200: only x-authgear-session-valid: false
		location string // for 302
	}
	prefixed := func(c *authgear.Config) { c.CookiePrefix = "myapp_" }
	requireSession := func(c *authgear.Config) { c.RequireSession = true }
	admins := func(c *authgear.Config) { c.AllowedRoles = []string{"admin"} }
	httpOrigin := func(c *authgear.Config) { c.ResolverHost = "http://" + publicHost }
	bareHost := func(c *authgear.Config) { c.ResolverHost = publicHost }
	alice := "Bearer user:alice"
	preflight := func(extra map[string]string) map[string]string {
		return merge(map[string]string{"Origin": "https://app.example.test", "Access-Control-Request-Method": "POST"}, extra)
	}
	tests := []struct {
		name     string
		edit     func(*authgear.Config)
		r        request
		want     want
		resolver map[string]string // the resolver request's headers ("" for absent), :method, :path, :body and :host
	}{
		{"no credential", nil, request{}, want{200, 0, "", false, ""}, nil},
		{"unrelated cookie only", nil, request{header: map[string]string{"Cookie": "_ga=GA1.2.3"}}, want{200, 0, "", false, ""}, nil},
		{"bearer", nil, request{header: bearer("alice")}, want{200, 1, "alice", false, ""}, nil},
		{"bearer scheme lower case", nil, request{header: map[string]string{"Authorization": "bearer user:alice"}}, want{200, 1, "alice", false, ""}, nil},
		{"session cookie", nil, request{header: cookie("session", "bob")}, want{200, 1, "bob", false, ""}, nil},
		{"app_session cookie", nil, request{header: cookie("app_session", "carol")}, want{200, 1, "carol", false, ""}, nil},
		{"app_access_token cookie", nil, request{header: cookie("app_access_token", "alice")}, want{200, 1, "alice", false, ""}, nil},
		{"prefixed session cookie", prefixed, request{header: cookie("myapp_session", "bob")}, want{200, 1, "bob", false, ""}, nil},
		{"prefixed app_session cookie", prefixed, request{header: cookie("myapp_app_session", "carol")}, want{200, 1, "carol", false, ""}, nil},
		{"unprefixed cookie ignored with a prefix", prefixed, request{header: cookie("session", "bob")}, want{200, 0, "", false, ""}, nil},
		{"bearer wins over app_session", nil, request{header: merge(bearer("alice"), cookie("app_session", "bob"))}, want{200, 1, "alice", false, ""}, nil},
		{"app_session wins over session", nil, request{header: map[string]string{"Cookie": "app_session=user:carol; session=user:bob"}}, want{200, 1, "carol", false, ""}, nil},
		{"invalid bearer falls back to session", nil, request{header: merge(bearer("mallory"), cookie("session", "bob"))}, want{200, 1, "bob", false, ""}, nil},
		{"unknown session", nil, request{header: map[string]string{"Cookie": "session=bogus.value"}}, want{200, 1, "", true, ""}, nil},
		{"invalid bearer", nil, request{header: map[string]string{"Authorization": "Bearer x"}}, want{200, 1, "", false, ""}, nil},
		{"basic auth", nil, request{header: map[string]string{"Authorization": "Basic dXNlcjpwYXNz"}}, want{200, 1, "", false, ""}, nil},
		{"requireSession refuses anonymous", requireSession, request{}, want{401, 0, "", false, ""}, nil},
		{"requireSession refuses an unknown session", requireSession, request{header: map[string]string{"Cookie": "session=bogus"}}, want{401, 1, "", false, ""}, nil},
		{"requireSession refuses an invalid token", requireSession, request{header: bearer("mallory")}, want{401, 1, "", false, ""}, nil},
		{"requireSession admits a session", requireSession, request{header: bearer("carol")}, want{200, 1, "carol", false, ""}, nil},
		{"requireSession admits an anonymous user", requireSession, request{header: bearer("anon")}, want{200, 1, "anon", false, ""}, nil},
		{"rejectAnonymousUsers refuses an anonymous user", func(c *authgear.Config) { c.RequireSession = true; c.RejectAnonymousUsers = true }, request{header: bearer("anon")}, want{401, 1, "", false, ""}, nil},
		{"allowedRoles admits a role", admins, request{header: bearer("alice")}, want{200, 1, "alice", false, ""}, nil},
		{"allowedRoles as comma string", func(c *authgear.Config) { c.AllowedRoles = []string{"ops,editor"} }, request{header: bearer("bob")}, want{200, 1, "bob", false, ""}, nil},
		{"allowedRoles refuses other roles", admins, request{header: bearer("bob")}, want{403, 1, "", false, ""}, nil},
		{"allowedRoles refuses no roles", admins, request{header: bearer("carol")}, want{403, 1, "", false, ""}, nil},
		{"allowedRoles implies requireSession", admins, request{}, want{401, 0, "", false, ""}, nil},
		{"allowedRoles does not redirect a signed-in user", func(c *authgear.Config) { c.AllowedRoles = []string{"admin"}; c.LoginURL = "/login" }, request{header: map[string]string{"Authorization": "Bearer user:bob", "Accept": "text/html"}}, want{403, 1, "", false, ""}, nil},
		{"loginURL redirects a navigation", func(c *authgear.Config) { c.RequireSession = true; c.LoginURL = "https://myapp.authgear.cloud/login" },
			request{header: map[string]string{"Accept": "text/html,application/xhtml+xml"}},
			want{302, 0, "", false, "https://myapp.authgear.cloud/login?redirect_uri=" + url.QueryEscape("http://api.example.test/things?id=1")}, nil},
		{"loginURL keeps its query and the forwarded scheme", func(c *authgear.Config) { c.RequireSession = true; c.LoginURL = "/login?app=1" },
			request{header: map[string]string{"Accept": "text/html", "X-Forwarded-Proto": "https"}},
			want{302, 0, "", false, "/login?app=1&redirect_uri=" + url.QueryEscape("https://api.example.test/things?id=1")}, nil},
		{"loginURL does not redirect an API call", func(c *authgear.Config) { c.RequireSession = true; c.LoginURL = "/login" }, request{header: map[string]string{"Accept": "application/json"}}, want{401, 0, "", false, ""}, nil},
		{"loginURL does not redirect a POST", func(c *authgear.Config) { c.RequireSession = true; c.LoginURL = "/login" }, request{method: "POST", header: map[string]string{"Accept": "text/html"}}, want{401, 0, "", false, ""}, nil},
		{"plain OPTIONS is refused", requireSession, request{method: "OPTIONS"}, want{401, 0, "", false, ""}, nil},
		// A CORS preflight passes without identity; look-alikes get the policy.
		{"CORS preflight passes", admins, request{method: "OPTIONS", header: preflight(nil)}, want{200, 0, "", false, ""}, nil},
		{"preflight with a body is refused", admins, request{method: "OPTIONS", header: preflight(nil), body: "payload"}, want{401, 0, "", false, ""}, nil},
		{"preflight with a chunked body is refused", admins, request{method: "OPTIONS", header: preflight(map[string]string{"Transfer-Encoding": "chunked"}), body: "payload"}, want{401, 0, "", false, ""}, nil},
		{"preflight with a refused user's credentials is refused", admins, request{method: "OPTIONS", header: preflight(bearer("bob"))}, want{403, 1, "", false, ""}, nil},
		{"preflight with an unknown session is refused", admins, request{method: "OPTIONS", header: preflight(cookie("session", "nobody"))}, want{401, 1, "", false, ""}, nil},
		{"preflight with an allowed user's credentials passes with identity", admins, request{method: "OPTIONS", header: preflight(bearer("alice"))}, want{200, 1, "alice", false, ""}, nil},
		// The resolver gets a bodiless GET with the keyed credentials, the
		// public host and scheme, the client's address, bounded unkeyed headers.
		{"a POST with a body goes on intact; the resolver gets a GET without one", nil, request{method: "POST", target: "http://api.example.test/upload?x=1", body: `{"name":"report"}`, remote: "203.0.113.7:4321",
			header: map[string]string{"Content-Type": "application/json", "Authorization": alice, "User-Agent": "test-agent/1", "X-Forwarded-For": "198.51.100.1", "X-Forwarded-Host": "api.example.test", "Keep-Alive": "timeout=5", "Te": "trailers"}}, want{200, 1, "alice", false, ""},
			map[string]string{":method": "GET", ":path": "/_resolver/resolve", ":body": "", ":host": publicHost, "X-Forwarded-Host": publicHost, "X-Forwarded-For": "198.51.100.1, 203.0.113.7",
				"Authorization": alice, "User-Agent": "test-agent/1", "Content-Type": "", "Content-Length": "", "Keep-Alive": "", "Te": ""}},
		{"no client IP headers but the peer's address", nil, request{remote: "203.0.113.7:4321", header: map[string]string{"Authorization": alice, "Forwarded": "for=6.6.6.6", "X-Real-Ip": "6.6.6.6", "X-Original-For": "6.6.6.6", "X-Client-Ip": "6.6.6.6"}}, want{200, 1, "alice", false, ""},
			map[string]string{"Forwarded": "", "X-Real-Ip": "", "X-Original-For": "", "X-Client-Ip": "", "X-Forwarded-For": "203.0.113.7"}},
		{"unkeyed headers cannot make it large", nil, request{header: map[string]string{"Authorization": alice, "User-Agent": strings.Repeat("u", 20000), "X-Forwarded-For": strings.Repeat("10.0.0.1, ", 2000) + "198.51.100.1"}}, want{200, 1, "alice", false, ""},
			map[string]string{"User-Agent": strings.Repeat("u", 512), "X-Forwarded-For": strings.Repeat("10.0.0.1, ", 49) + "198.51.100.1, 192.0.2.1"}},
		{"session among other cookies", nil, request{header: map[string]string{"Cookie": "_ga=GA1.2.3; session=user:bob; theme=dark"}}, want{200, 1, "bob", false, ""}, map[string]string{"Cookie": "session=user:bob", "Authorization": ""}},
		{"all three credential cookies, in Authgear's order", nil, request{header: map[string]string{"Cookie": "session=user:carol; x=1; app_access_token=user:bob; app_session=user:alice"}}, want{200, 1, "alice", false, ""},
			map[string]string{"Cookie": "app_session=user:alice; app_access_token=user:bob; session=user:carol", "Authorization": ""}},
		{"a bearer token and only other cookies", nil, request{header: map[string]string{"Authorization": alice, "Cookie": "theme=dark; _ga=1; _gid=2"}}, want{200, 1, "alice", false, ""}, map[string]string{"Cookie": "", "Authorization": alice}},
		{"a quoted value", nil, request{header: map[string]string{"Cookie": `session="user:bob"`}}, want{200, 1, "bob", false, ""}, map[string]string{"Cookie": "session=user:bob"}},
		{"a value with a space stays one value", nil, request{header: map[string]string{"Cookie": `session="user:bob x"`}}, want{200, 1, "", true, ""}, map[string]string{"Cookie": `session="user:bob x"`}},
		// Bearer tokens resolve whatever the client's scheme.
		{"origin, client on http behind a TLS balancer", nil, request{header: map[string]string{"Authorization": alice, "X-Forwarded-Proto": "http"}}, want{200, 1, "alice", false, ""}, map[string]string{"X-Forwarded-Proto": "https", ":host": publicHost}},
		{"origin, client on https", nil, request{header: map[string]string{"Authorization": alice, "X-Forwarded-Proto": "https"}}, want{200, 1, "alice", false, ""}, map[string]string{"X-Forwarded-Proto": "https", ":host": publicHost}},
		{"origin of an http Authgear, client on https", httpOrigin, request{header: map[string]string{"Authorization": alice, "X-Forwarded-Proto": "https"}}, want{200, 1, "", false, ""},
			map[string]string{"X-Forwarded-Proto": "http", ":host": publicHost, "X-Forwarded-Host": publicHost}},
		{"bare host, client on https: the client's scheme", bareHost, request{header: map[string]string{"Authorization": alice, "X-Forwarded-Proto": "https"}}, want{200, 1, "alice", false, ""},
			map[string]string{"X-Forwarded-Proto": "https", ":host": publicHost, "X-Forwarded-Host": publicHost}},
		{"bare host, client on http: the client's scheme", bareHost, request{header: map[string]string{"Authorization": alice, "X-Forwarded-Proto": "http"}}, want{200, 1, "", false, ""},
			map[string]string{"X-Forwarded-Proto": "http", ":host": publicHost, "X-Forwarded-Host": publicHost}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, h, rec := newHandler(t, tt.edit)
			w, s := do(h, rec, tt.r)
			if w.Code != tt.want.status || f.calls.Load() != tt.want.calls {
				t.Fatalf("status %d after %d resolver calls, want %d after %d", w.Code, f.calls.Load(), tt.want.status, tt.want.calls)
			}
			if got := w.Header().Get("Location"); got != tt.want.location {
				t.Fatalf("Location %q, want %q", got, tt.want.location)
			}
			method := tt.r.build().Method
			// The backend gets the request as sent, no answer header but the
			// identity, and the original ResponseWriter (WebSockets need it).
			switch {
			case s.called && (s.method != method || s.body != tt.r.body || s.writer != http.ResponseWriter(w) || s.header["X-Robots-Tag"] != nil):
				t.Fatalf("backend got %s %q, the writer %T, X-Robots-Tag %q", s.method, s.body, s.writer, s.header["X-Robots-Tag"])
			case tt.want.status != 200 && s.called:
				t.Fatalf("backend reached with status %d", w.Code)
			case tt.want.invalid && (len(s.identity) != 1 || s.identity["x-authgear-session-valid"] != "false"):
				t.Fatalf("backend saw %v, want only x-authgear-session-valid: false", s.identity)
			case tt.want.status == 200 && !tt.want.invalid:
				assertUser(t, s, tt.want.user)
			}
			for name, want := range tt.resolver {
				r := f.lastRequest(t)
				v, ok := map[string]string{":method": r.method, ":path": r.path, ":body": r.body, ":host": r.host}[name]
				if !ok {
					v = strings.Join(r.header.Values(name), "|")
				}
				if v != want {
					t.Errorf("resolver request %s = %q, want %q", name, v, want)
				}
			}
		})
	}
}

// Routers and reloads of a middleware share its Authgear app's cache while
// the resolver-side settings stay the same (a policy or forwardResolverCookies
// may change); other resolver-side settings start a new one. The resolver's
// cookies reach the client (cached, on a 401 too) unless
// forwardResolverCookies is off.
func TestRoutersAndReloadsOfAMiddleware(t *testing.T) {
	f := newFakeResolver(t)
	alice := request{header: bearer("alice")}
	expired := request{header: map[string]string{"Cookie": "session=expired"}}
	cleared := "session=; Path=/; Expires=Thu, 01 Jan 1970 00:00:00 GMT; HttpOnly; SameSite=Lax" // what the resolver sets for it
	ttl30 := func(c *authgear.Config) { c.CacheTTL = "30s" }
	noForward := func(c *authgear.Config) { c.ForwardResolverCookies = false }
	required := func(c *authgear.Config) { c.RequireSession = true }
	bareHost := func(c *authgear.Config) { c.ResolverHost = publicHost }
	overHTTPS := request{header: map[string]string{"Authorization": "Bearer user:alice", "X-Forwarded-Proto": "https"}}
	overHTTP := request{header: map[string]string{"Authorization": "Bearer user:alice", "X-Forwarded-Proto": "http"}}
	for _, step := range []struct {
		what      string
		edit      func(*authgear.Config)
		r         request
		calls     int64
		setCookie string
	}{
		{"a first router", nil, alice, 1, ""},
		{"a second router", nil, alice, 1, ""},
		{"a reload with the same settings", nil, alice, 1, ""},
		{"a reload with other settings", ttl30, alice, 2, ""},
		{"the resolver's cookie", ttl30, expired, 3, cleared},
		{"the cookie from the cache", ttl30, expired, 3, cleared},
		{"forwardResolverCookies off", noForward, expired, 4, ""},
		{"off, from the cache", noForward, expired, 4, ""},
		// Policies are the middleware's; the cache is the Authgear app's.
		{"a reload that changes the policy and turns cookies on keeps the cache, on a 401", required, expired, 4, cleared},
		{"on a 401, from the cache", required, expired, 4, cleared},
		{"alice's first answer went with the app the ttl30 reload retired", nil, alice, 5, ""},
		{"another policy on her cached answer", required, alice, 5, ""},
		// With a bare resolverHost, the scheme (a JWT's audience) is keyed too.
		{"a bare resolverHost, over https", bareHost, overHTTPS, 6, ""},
		{"the same token over http is not given the https answer", bareHost, overHTTP, 7, ""},
		{"over https again, from the cache", bareHost, overHTTPS, 7, ""},
	} {
		h, rec := newNamed(t, f, t.Name(), step.edit)
		w, _ := do(h, rec, step.r)
		if got := f.calls.Load(); got != step.calls {
			t.Fatalf("%s: resolver calls = %d, want %d", step.what, got, step.calls)
		}
		if got := strings.Join(w.Header().Values("Set-Cookie"), "|"); got != step.setCookie {
			t.Fatalf("%s: Set-Cookie %q, want %q", step.what, got, step.setCookie)
		}
	}
}
