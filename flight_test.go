package authgear_test

import (
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	authgear "github.com/traefik-authgear/traefik-authgear"
)

// After a webhook eviction, a request makes its own call instead of joining
// one from before; the evicted user's earlier answer is not cached, another's is.
func TestAnEvictionAndTheCallsUnderWay(t *testing.T) {
	f, h, _ := newHandler(t, withWebhook)
	f.hold()
	before := serveAsync(h, nil, "Bearer user:bob")
	f.awaitArrival(t)
	alice := serveAsync(h, nil, "Bearer user:alice")
	f.awaitArrival(t)
	// Bob is disabled; Authgear says so in a webhook delivery.
	f.disabled.Store("bob", true)
	disableByWebhook(t, h, "id-bob")
	after := serveAsync(h, nil, "Bearer user:bob")
	f.awaitArrival(t)
	f.release(3)
	if got := backendUser(outcome(t, before)); got != "id-bob" {
		t.Fatalf("the request sent before the eviction saw %q, want id-bob", got)
	}
	if got := backendUser(outcome(t, alice)); got != "id-alice" {
		t.Fatalf("alice saw %q", got)
	}
	if got := backendUser(outcome(t, after)); got != "" {
		t.Fatalf("the request sent after bob's eviction reached the backend as %q", got)
	}
	// Served from the cache (a resolver call would be held).
	expect(t, h, "Bearer user:bob", http.StatusOK, "")
	expect(t, h, "Bearer user:alice", http.StatusOK, "id-alice")
}

func TestResolverConnectionsAreBoundedAndReused(t *testing.T) {
	flood := 150 // distinct credentials
	bound := 64  // connections one middleware may open
	f, h, _ := newHandler(t, func(c *authgear.Config) { c.Timeout = "1m" })
	f.hold()
	results := make([]chan *httptest.ResponseRecorder, flood)
	for i := 0; i < len(results); i++ {
		results[i] = serveAsync(h, nil, "Bearer junk-"+strconv.Itoa(i))
	}
	// As many calls arrive as the middleware may open connections.
	for i := 0; i < bound; i++ {
		f.awaitArrival(t)
	}
	if conns := f.connections(); conns > bound {
		t.Fatalf("%d connections to the resolver, want at most %d", conns, bound)
	}
	go f.release(flood)
	for i := 0; i < len(results); i++ {
		if w := outcome(t, results[i]); w.Code != 200 {
			t.Fatalf("status %d, want 200 once the resolver answers", w.Code)
		}
	}
	conns := f.connections()
	if calls := f.calls.Load(); calls != int64(flood) || conns > bound {
		t.Fatalf("%d calls over %d connections, want %d calls over at most %d", calls, conns, flood, bound)
	}
	// Later calls, one at a time, reuse the connections (keep-alive).
	go f.release(5)
	for i := 0; i < 5; i++ {
		expect(t, h, "Bearer again-"+strconv.Itoa(i), 200, "")
	}
	if got := f.connections(); got != conns {
		t.Fatalf("5 sequential calls opened %d new connections, want none", got-conns)
	}
}

func TestResolverOverTLS(t *testing.T) {
	f, ca := newTLSResolver(t, 0)
	caFile := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(caFile, []byte(ca), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name       string
		tls        authgear.TLSConfig
		wantStatus int
	}{
		{"unknown CA refused", authgear.TLSConfig{}, http.StatusBadGateway},
		{"inline PEM CA", authgear.TLSConfig{CA: ca}, http.StatusOK},
		{"CA file", authgear.TLSConfig{CA: caFile}, http.StatusOK},
		{"insecureSkipVerify", authgear.TLSConfig{InsecureSkipVerify: true}, http.StatusOK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, rec := newNamed(t, f, t.Name(), func(c *authgear.Config) { c.TLS = tt.tls })
			w, s := do(h, rec, request{header: bearer("alice")})
			if w.Code != tt.wantStatus {
				t.Fatalf("status %d, want %d", w.Code, tt.wantStatus)
			}
			if tt.wantStatus == http.StatusOK {
				assertUser(t, s, "alice")
			}
		})
	}
}

// revalidating answers expire after 50 ms, which pastTTL waits out, and stay
// in the revalidation window for the whole test.
func revalidating(c *authgear.Config) { c.CacheTTL = "0.05"; c.StaleWhileRevalidate = "1h" }

func pastTTL() { time.Sleep(80 * time.Millisecond) }

func TestRevalidationServesAtOnceWithOneBackgroundCall(t *testing.T) {
	f, h, _ := newHandler(t, func(c *authgear.Config) { revalidating(c); withMetrics(c); c.AllowedRoles = []string{"admin"} })
	expect(t, h, "Bearer user:alice", 200, "id-alice")
	pastTTL()
	// Alice is disabled; the resolver is slow to say so.
	f.disabled.Store("alice", true)
	f.hold()
	// Served at once from the cache while the one background call is held:
	// the first request starts it, the others find it under way.
	for i := 0; i < 20; i++ {
		expect(t, h, "Bearer user:alice", 200, "id-alice")
	}
	f.awaitArrival(t)
	if got := f.calls.Load(); got != 2 {
		t.Fatalf("resolver calls = %d, want 2: one background call for 20 requests", got)
	}
	awaitMetric(t, h, "authgear_requests_total", `,outcome="revalidated"`, 20)
	awaitMetric(t, h, "authgear_requests_total", `,outcome="cache_hit"`, 0)
	f.release(1)
	// The policy applies to the refreshed answer, without a session.
	eventually(t, "the refreshed answer applies (401)", func() bool {
		return outcome(t, serveAsync(h, nil, "Bearer user:alice")).Code == http.StatusUnauthorized
	})
}

func TestPastTheRevalidationWindowRequestsWait(t *testing.T) {
	f, h, _ := newHandler(t, func(c *authgear.Config) { c.CacheTTL = "0.02"; c.StaleWhileRevalidate = "0.02" })
	expect(t, h, "Bearer user:alice", 200, "id-alice")
	pastTTL() // and past the window
	f.hold()
	waiting := serveAsync(h, nil, "Bearer user:alice")
	f.awaitArrival(t)
	select {
	case w := <-waiting:
		t.Fatalf("a request past the window was answered (%d) before the resolver", w.Code)
	default:
	}
	f.release(1)
	if w := outcome(t, waiting); w.Code != 200 || backendUser(w) != "id-alice" {
		t.Fatalf("%d %q", w.Code, backendUser(w))
	}
}

// A refresh failing because Authgear could not answer keeps the answer (and
// is retried); one refused with a 4xx, or overtaken by an eviction, does not.
func TestARefreshThatFails(t *testing.T) {
	for _, tt := range []struct {
		name   string
		status int64 // the refresh's answer; 0: the user is evicted while it is under way
	}{
		{"500 keeps the answer", 500},
		{"431 drops it", 431},
		{"an eviction under way drops it", 0},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f, h, _ := newHandler(t, func(c *authgear.Config) { revalidating(c); withWebhook(c); withMetrics(c); c.RequireSession = true })
			expect(t, h, "Bearer user:bob", 200, "id-bob")
			pastTTL()
			if tt.status == 0 {
				f.hold()
			}
			f.status.Store(tt.status)
			expect(t, h, "Bearer user:bob", 200, "id-bob") // served at once; its refresh starts
			switch tt.status {
			case 0: // once the refresh has ended, bob's next request goes to the resolver
				f.awaitArrival(t)
				disableByWebhook(t, h, "id-bob")
				f.release(1)
				awaitMetric(t, h, "authgear_resolver_call_duration_seconds_count", "", 2)
				next := serveAsync(h, nil, "Bearer user:bob")
				f.awaitArrival(t)
				f.release(1)
				outcome(t, next)
			case 500:
				eventually(t, "another refresh after the failed one", func() bool {
					expect(t, h, "Bearer user:bob", 200, "id-bob")
					return f.calls.Load() >= 3
				})
			default:
				eventually(t, "the refused answer is dropped (431 passed on)", func() bool {
					return outcome(t, serveAsync(h, nil, "Bearer user:bob")).Code == http.StatusRequestHeaderFieldsTooLarge
				})
			}
		})
	}
}

func TestABearerJWTsExpBoundsItsEntry(t *testing.T) {
	tests := []struct {
		name string
		// authorization is the request's, given a JWT for alice that expires
		// in about a second.
		authorization           func(jwt string) []string
		user                    string
		callsBefore, callsAfter int64 // after two requests before exp, after one past it
	}{
		{"a JWT's entry ends at exp, stale windows included", func(jwt string) []string { return []string{jwt} }, "id-alice", 1, 2},
		{"so does the same JWT sent twice", func(jwt string) []string { return []string{jwt, jwt} }, "id-alice", 1, 2},
		{"and a JWT after an opaque token", func(jwt string) []string { return []string{"Bearer user:alice", jwt} }, "id-alice", 1, 2},
		{"an opaque token keeps its entry", func(_ string) []string { return []string{"Bearer user:alice"} }, "id-alice", 1, 1},
		{"a malformed JWT is an opaque token", func(_ string) []string { return []string{"Bearer a.%%%.c"} }, "", 1, 1},
		{"a JWT past its exp is never cached", func(_ string) []string { return []string{"Bearer " + jwtFor("alice", time.Now().Add(-time.Minute))} }, "id-alice", 2, 3},
	}
	send := func(h http.Handler, authorization []string) *httptest.ResponseRecorder {
		req := request{}.build()
		req.Header["Authorization"] = authorization
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		return w
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			exp := time.Now().Add(1500 * time.Millisecond).Truncate(time.Second) // exp is in whole seconds
			authorization := tt.authorization("Bearer " + jwtFor("alice", exp))
			f, h, _ := newHandler(t, func(c *authgear.Config) { c.CacheTTL = "1h"; c.StaleWhileRevalidate = "1h"; c.StaleIfError = "1h" })
			for i := 0; i < 2; i++ {
				if w := send(h, authorization); backendUser(w) != tt.user {
					t.Fatalf("request %d before exp: status %d, backend user %q; want %q", i, w.Code, backendUser(w), tt.user)
				}
			}
			if got := f.calls.Load(); got != tt.callsBefore {
				t.Fatalf("resolver calls = %d before exp, want %d", got, tt.callsBefore)
			}
			time.Sleep(time.Until(exp) + 50*time.Millisecond)
			f.status.Store(500) // a stale answer would hide the expiry
			w := send(h, authorization)
			if got := f.calls.Load(); got != tt.callsAfter {
				t.Fatalf("resolver calls = %d after exp, want %d", got, tt.callsAfter)
			}
			if tt.callsAfter > tt.callsBefore && w.Code != http.StatusBadGateway {
				t.Fatalf("after exp with the resolver failing: status %d, want 502 (no stale answer past exp)", w.Code)
			}
		})
	}
}
