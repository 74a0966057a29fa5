package authgear_test

import (
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	authgear "github.com/traefik-authgear/traefik-authgear"
)

// revalidating is a configuration whose answers leave cacheTTL at once and
// stay in the revalidation window for the whole test.
func revalidating(c *authgear.Config) {
	c.CacheTTL = "0.05"
	c.StaleWhileRevalidate = "1h"
}

// pastTTL waits out the 50 ms cacheTTL of revalidating.
func pastTTL() { time.Sleep(80 * time.Millisecond) }

// awaitCalls polls until the resolver has had n calls, failing after 5 s.
func awaitCalls(t *testing.T, f *fakeResolver, n int64) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); f.calls.Load() < n; {
		if time.Now().After(deadline) {
			t.Fatalf("resolver calls = %d after 5 s, want %d", f.calls.Load(), n)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestRevalidationServesAtOnceWithOneBackgroundCall(t *testing.T) {
	f := newFakeResolver(t)
	h, _ := newHandler(t, f, func(c *authgear.Config) { revalidating(c); c.AllowedRoles = []string{"admin"} })
	if s := outcome(t, serveAsync(h, nil, "Bearer user:alice")); s.status != 200 || backendUser(s) != "id-alice" {
		t.Fatalf("first request: %d %q", s.status, backendUser(s))
	}
	pastTTL()
	// Alice loses her admin role; the resolver is slow to say so.
	f.roles.Store("alice", "editor")
	f.hold()
	// Every request is served at once from the cached answer while the
	// one background call is held.
	for i := 0; i < 20; i++ {
		s := outcome(t, serveAsync(h, nil, "Bearer user:alice"))
		if s.status != 200 || backendUser(s) != "id-alice" {
			t.Fatalf("request %d in the revalidation window: %d %q, want 200 at once", i, s.status, backendUser(s))
		}
	}
	f.awaitArrival(t)
	if got := f.calls.Load(); got != 2 {
		t.Fatalf("resolver calls = %d, want 2: one background call for 20 requests", got)
	}
	f.release(1)
	// The refreshed answer, without admin, is the next one served, and the
	// policy applies to it.
	for deadline := time.Now().Add(5 * time.Second); ; {
		s := outcome(t, serveAsync(h, nil, "Bearer user:alice"))
		if s.status == http.StatusForbidden {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the refreshed answer never applied: still %d", s.status)
		}
	}
}

func TestPastTheRevalidationWindowRequestsWait(t *testing.T) {
	f := newFakeResolver(t)
	h, _ := newHandler(t, f, func(c *authgear.Config) { c.CacheTTL = "0.02"; c.StaleWhileRevalidate = "0.02" })
	outcome(t, serveAsync(h, nil, "Bearer user:alice"))
	time.Sleep(80 * time.Millisecond)
	f.hold()
	waiting := serveAsync(h, nil, "Bearer user:alice")
	f.awaitArrival(t)
	select {
	case s := <-waiting:
		t.Fatalf("a request past the window was answered (%d) before the resolver", s.status)
	default:
	}
	f.release(1)
	if s := outcome(t, waiting); s.status != 200 || backendUser(s) != "id-alice" {
		t.Fatalf("%d %q", s.status, backendUser(s))
	}
}

func TestFailedRefreshKeepsTheEntry(t *testing.T) {
	f := newFakeResolver(t)
	h, _ := newHandler(t, f, revalidating)
	outcome(t, serveAsync(h, nil, "Bearer user:bob"))
	pastTTL()
	f.status.Store(500)
	for want := int64(2); want <= 3; want++ {
		if s := outcome(t, serveAsync(h, nil, "Bearer user:bob")); s.status != 200 || backendUser(s) != "id-bob" {
			t.Fatalf("while refreshes fail: %d %q, want the kept answer", s.status, backendUser(s))
		}
		awaitCalls(t, f, want) // each request after a failed refresh tries again
	}
}

func TestEvictionWinsOverARefreshUnderWay(t *testing.T) {
	f := newFakeResolver(t)
	h, _ := newHandler(t, f, func(c *authgear.Config) { revalidating(c); withWebhook(c) })
	outcome(t, serveAsync(h, nil, "Bearer user:bob"))
	pastTTL()
	f.hold()
	outcome(t, serveAsync(h, nil, "Bearer user:bob")) // served at once, refresh held
	f.awaitArrival(t)
	disableByWebhook(t, h, "id-bob")
	f.release(1)
	// The refresh began before the eviction: its answer is not cached, so
	// bob's next request goes to the resolver.
	next := serveAsync(h, nil, "Bearer user:bob")
	f.awaitArrival(t)
	f.release(1)
	outcome(t, next)
}

func TestCacheTTLZeroTurnsRevalidationOff(t *testing.T) {
	f := newFakeResolver(t)
	h, _ := newHandler(t, f, func(c *authgear.Config) { c.CacheTTL = "0"; c.StaleWhileRevalidate = "1h" })
	for i := 0; i < 3; i++ {
		outcome(t, serveAsync(h, nil, "Bearer user:alice"))
	}
	if got := f.calls.Load(); got != 3 {
		t.Fatalf("resolver calls = %d with cacheTTL 0, want 3", got)
	}
}

func TestABearerJWTsExpBoundsItsEntry(t *testing.T) {
	exp := time.Now().Add(1500 * time.Millisecond).Truncate(time.Second) // exp is in whole seconds
	tests := []struct {
		name      string
		token     string
		wantCalls int64 // after a request past exp
	}{
		{"a JWT's entry ends at exp, stale windows included", "Bearer " + jwtFor("alice", exp), 2},
		{"an opaque token keeps its entry", "Bearer user:alice", 1},
		{"a malformed JWT is an opaque token", "Bearer a.%%%.c", 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeResolver(t)
			h, _ := newHandler(t, f, func(c *authgear.Config) {
				c.CacheTTL = "1h"
				c.StaleWhileRevalidate = "1h"
				c.StaleIfError = "1h"
			})
			outcome(t, serveAsync(h, nil, tt.token))
			outcome(t, serveAsync(h, nil, tt.token))
			if got := f.calls.Load(); got != 1 {
				t.Fatalf("resolver calls = %d before exp, want 1 (cached)", got)
			}
			time.Sleep(time.Until(exp) + 50*time.Millisecond)
			f.status.Store(500) // a stale answer would hide the expiry
			s := outcome(t, serveAsync(h, nil, tt.token))
			if got := f.calls.Load(); got != tt.wantCalls {
				t.Fatalf("resolver calls = %d after exp, want %d", got, tt.wantCalls)
			}
			if tt.wantCalls == 2 && s.status != http.StatusBadGateway {
				t.Fatalf("after exp with the resolver failing: status %d, want 502 (no stale answer past exp)", s.status)
			}
		})
	}
}

func TestAJWTPastItsExpIsNotCached(t *testing.T) {
	f := newFakeResolver(t)
	h, _ := newHandler(t, f, func(c *authgear.Config) { c.CacheTTL = "1h" })
	token := "Bearer " + jwtFor("alice", time.Now().Add(-time.Minute))
	outcome(t, serveAsync(h, nil, token))
	outcome(t, serveAsync(h, nil, token))
	if got := f.calls.Load(); got != 2 {
		t.Fatalf("resolver calls = %d for an expired JWT, want 2 (never cached)", got)
	}
}

func TestAFloodOfNewCredentialsDoesNotEvictReturningUsers(t *testing.T) {
	f := newFakeResolver(t)
	h, _ := newHandler(t, f, func(c *authgear.Config) { c.CacheTTL = "1h"; c.CacheMaxEntries = 100 })
	// Alice comes back once: her entry is protected.
	outcome(t, serveAsync(h, nil, "Bearer user:alice"))
	outcome(t, serveAsync(h, nil, "Bearer user:alice"))
	// A scanner sends 1,000 credentials, each once, ten times the cache.
	for i := 0; i < 1000; i++ {
		req := httptest.NewRequest(http.MethodGet, "http://api.example.test/", nil)
		req.Header.Set("Authorization", "Bearer junk-"+strconv.Itoa(i))
		h.ServeHTTP(httptest.NewRecorder(), req)
	}
	before := f.calls.Load()
	if s := outcome(t, serveAsync(h, nil, "Bearer user:alice")); backendUser(s) != "id-alice" {
		t.Fatalf("alice after the flood: %q", backendUser(s))
	}
	if got := f.calls.Load() - before; got != 0 {
		t.Fatalf("alice's request after the flood made %d resolver calls, want 0 (still cached)", got)
	}
}
