package authgear_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	authgear "github.com/traefik-authgear/traefik-authgear"
)

func TestRequestsAfterAnEvictionDoNotJoinCallsFromBeforeIt(t *testing.T) {
	f, h, _ := newHandler(t, withWebhook)
	f.hold()
	before := serveAsync(h, nil, "Bearer user:bob")
	f.awaitArrival(t)
	// Bob is disabled; Authgear says so in a webhook delivery.
	f.disabled.Store("bob", true)
	disableByWebhook(t, h, "id-bob")
	after := serveAsync(h, nil, "Bearer user:bob")
	f.awaitArrival(t) // a call of its own, not the one from before
	f.release(2)
	if got := backendUser(outcome(t, before)); got != "id-bob" {
		t.Fatalf("the request sent before the eviction saw %q, want id-bob", got)
	}
	if got := backendUser(outcome(t, after)); got != "" {
		t.Fatalf("the request sent after bob's eviction reached the backend as %q", got)
	}
	// And nothing from before the eviction was cached for bob.
	expect(t, h, "Bearer user:bob", http.StatusOK, "")
}

func TestAnEvictionDropsOnlyTheEvictedUsersAnswers(t *testing.T) {
	f, h, _ := newHandler(t, withWebhook)
	f.hold()
	alice := serveAsync(h, nil, "Bearer user:alice")
	f.awaitArrival(t)
	disableByWebhook(t, h, "id-carol")
	f.release(1)
	if got := backendUser(outcome(t, alice)); got != "id-alice" {
		t.Fatalf("alice saw %q", got)
	}
	// Carol's eviction did not keep alice's answer out of the cache.
	expect(t, h, "Bearer user:alice", http.StatusOK, "id-alice")
	if got := f.calls.Load(); got != 1 {
		t.Fatalf("resolver calls = %d, want 1: alice's answer should have been cached", got)
	}
}

func TestACallNobodyWaitsForIsCancelled(t *testing.T) {
	f, h, _ := newHandler(t, func(c *authgear.Config) { c.Timeout = "1m" })
	f.hold()
	ctx, cancel := context.WithCancel(context.Background())
	gone := serveAsync(h, ctx, "Bearer user:alice")
	f.awaitArrival(t)
	cancel()
	select {
	case <-f.cancelled:
	case <-time.After(5 * time.Second):
		t.Fatal("the resolver call went on for 5 s after its only client had gone")
	}
	if w := outcome(t, gone); w.Code != 499 {
		t.Fatalf("the departed client's request ended with %d, want 499", w.Code)
	}
}

func TestResolverConnectionsAreBoundedPerMiddleware(t *testing.T) {
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
	released := make(chan bool)
	go func() {
		f.release(flood)
		close(released)
	}()
	for i := 0; i < len(results); i++ {
		if w := outcome(t, results[i]); w.Code != 200 {
			t.Fatalf("status %d, want 200 once the resolver answers", w.Code)
		}
	}
	<-released
	if calls, conns := f.calls.Load(), f.connections(); calls != int64(flood) || conns > bound {
		t.Fatalf("%d calls over %d connections, want %d calls over at most %d", calls, conns, flood, bound)
	}
}

func TestResolverConnectionsAreReused(t *testing.T) {
	f, h, rec := newHandler(t, func(c *authgear.Config) { c.CacheTTL = "0" })
	for i := 0; i < 5; i++ {
		_, s := do(h, rec, request{header: bearer("alice")})
		assertUser(t, s, "alice")
	}
	if calls, conns := f.calls.Load(), f.connections(); calls != 5 || conns != 1 {
		t.Fatalf("%d resolver calls over %d connections, want 5 over 1 (keep-alive)", calls, conns)
	}
}

func TestResolverOverTLS(t *testing.T) {
	f, ca := newTLSResolver(t)
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
