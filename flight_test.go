package authgear_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	authgear "github.com/traefik-authgear/traefik-authgear"
)

// served is one request sent through the handler in the background.
type served struct {
	status   int
	identity map[string]string
}

// serveAsync sends a request with the given Authorization through the
// handler in a goroutine (with ctx, when not nil) and delivers the outcome
// on the returned channel; next records the identity it saw.
func serveAsync(h http.Handler, ctx context.Context, authorization string) chan served {
	out := make(chan served, 1)
	go func() {
		req := httptest.NewRequest(http.MethodGet, "http://api.example.test/", nil)
		if ctx != nil {
			req = req.WithContext(ctx)
		}
		req.Header.Set("Authorization", authorization)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		out <- served{status: w.Code, identity: identityOf(http.Header(map[string][]string{
			"X-Authgear-User-Id": w.Result().Header.Values("X-Backend-User"),
		}))}
	}()
	return out
}

// releaseAll lets n held calls answer, then says so on done.
func releaseAll(f *fakeResolver, n int, done chan<- bool) {
	f.release(n)
	done <- true
}

// outcome waits for a background request, failing the test after 5 s.
func outcome(t *testing.T, ch <-chan served) served {
	t.Helper()
	select {
	case s := <-ch:
		return s
	case <-time.After(5 * time.Second):
		t.Fatal("the request did not finish within 5 s")
		return served{}
	}
}

// backendUser is the user id the backend saw, from the recorder's
// X-Backend-User answer header.
func backendUser(s served) string { return s.identity["x-authgear-user-id"] }

func TestRequestsAfterAnEvictionDoNotJoinCallsFromBeforeIt(t *testing.T) {
	f := newFakeResolver(t)
	f.hold()
	h, _ := newHandler(t, f, withWebhook)

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
	if got := backendUser(outcome(t, serveAsync(h, nil, "Bearer user:bob"))); got != "" {
		t.Fatalf("a later request reached the backend as %q", got)
	}
}

func TestAnEvictionDropsOnlyTheEvictedUsersAnswers(t *testing.T) {
	f := newFakeResolver(t)
	f.hold()
	h, _ := newHandler(t, f, withWebhook)

	alice := serveAsync(h, nil, "Bearer user:alice")
	f.awaitArrival(t)
	disableByWebhook(t, h, "id-carol")
	f.release(1)
	if got := backendUser(outcome(t, alice)); got != "id-alice" {
		t.Fatalf("alice saw %q", got)
	}
	// Carol's eviction did not keep alice's answer out of the cache.
	if got := backendUser(outcome(t, serveAsync(h, nil, "Bearer user:alice"))); got != "id-alice" {
		t.Fatalf("alice's second request saw %q", got)
	}
	if got := f.calls.Load(); got != 1 {
		t.Fatalf("resolver calls = %d, want 1: alice's answer should have been cached", got)
	}
}

func TestACallNobodyWaitsForIsCancelled(t *testing.T) {
	f := newFakeResolver(t)
	f.hold()
	h, _ := newHandler(t, f, func(c *authgear.Config) { c.Timeout = "1m" })
	ctx, cancel := context.WithCancel(context.Background())
	gone := serveAsync(h, ctx, "Bearer user:alice")
	f.awaitArrival(t)
	cancel()
	select {
	case <-f.cancelled:
	case <-time.After(5 * time.Second):
		t.Fatal("the resolver call went on for 5 s after its only client had gone")
	}
	if s := outcome(t, gone); s.status != 499 {
		t.Fatalf("the departed client's request ended with %d, want 499", s.status)
	}
}

// connectionFlood is how many distinct credentials flood the resolver, and
// connectionBound how many connections one middleware may open to it.
const (
	connectionFlood = 150
	connectionBound = 64
)

// distinctRemotes counts the resolver's requests and the connections they
// came on.
func distinctRemotes(f *fakeResolver) (int, int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	seen := map[string]bool{}
	for i := 0; i < len(f.requests); i++ {
		seen[f.requests[i].remote] = true
	}
	requests := len(f.requests)
	conns := len(seen)
	return requests, conns
}

func TestResolverConnectionsAreBoundedPerMiddleware(t *testing.T) {
	f := newFakeResolver(t)
	f.hold()
	h, _ := newHandler(t, f, func(c *authgear.Config) { c.Timeout = "1m" })
	flood := connectionFlood
	bound := connectionBound
	results := make([]chan served, flood)
	for i := 0; i < flood; i++ {
		results[i] = serveAsync(h, nil, "Bearer junk-"+strconv.Itoa(i))
	}
	// As many calls arrive as the middleware may open connections.
	for i := 0; i < bound; i++ {
		f.awaitArrival(t)
	}
	if _, conns := distinctRemotes(f); conns > bound {
		t.Fatalf("%d connections to the resolver, want at most %d", conns, bound)
	}
	released := make(chan bool)
	go releaseAll(f, flood, released)
	for i := 0; i < flood; i++ {
		if s := outcome(t, results[i]); s.status != 200 {
			t.Fatalf("status %d, want 200 once the resolver answers", s.status)
		}
	}
	<-released
	if requests, conns := distinctRemotes(f); requests != flood || conns > bound {
		t.Fatalf("%d calls over %d connections, want %d calls over at most %d", requests, conns, flood, bound)
	}
}
