package authgear_test

import (
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	authgear "github.com/traefik-authgear/traefik-authgear"
)

// What a client sends can never make its own resolver call fail "as an
// outage", and so never keep a revoked identity alive on a stale answer.

func TestCredentialsOverTheBoundGet431WithoutAResolverCall(t *testing.T) {
	const bound = 8 << 10
	pad := func(n int) string { return strings.Repeat("x", n) }
	tests := []struct {
		name       string
		header     map[string]string
		wantStatus int
		wantCalls  int64
	}{
		{"a bearer token at the bound resolves", map[string]string{"Authorization": "Bearer junk" + pad(bound-len("Bearer junk"))}, 200, 1},
		{"a bearer token past the bound", map[string]string{"Authorization": "Bearer junk" + pad(bound)}, 431, 0},
		{"a session cookie past the bound", map[string]string{"Cookie": "session=user:bob" + pad(bound)}, 431, 0},
		{"a cookie and a bearer token, together past the bound", map[string]string{"Cookie": "session=user:bob", "Authorization": "Bearer junk" + pad(bound-20)}, 431, 0},
		{"other cookies do not count", map[string]string{"Cookie": "session=user:bob; tracking=" + pad(2*bound)}, 200, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, h, rec := newHandler(t, func(c *authgear.Config) {
				withMetrics(c)
				c.StaleIfError = "1h"
				c.OnResolverError = "anonymous" // 431 all the same: the client sent too much
			})
			for i := 0; i < 2; i++ {
				w, s := do(h, rec, request{header: tt.header})
				if w.Code != tt.wantStatus {
					t.Fatalf("request %d: status %d, want %d", i, w.Code, tt.wantStatus)
				}
				if tt.wantStatus == 431 && (s.called || len(w.Body.String()) > 200) {
					t.Fatalf("request %d: backend reached %v, answer %q: want a short refusal", i, s.called, w.Body.String())
				}
			}
			if got := f.calls.Load(); got != tt.wantCalls {
				t.Fatalf("resolver calls = %d, want %d", got, tt.wantCalls)
			}
			if tt.wantStatus == 431 {
				awaitMetric(t, h, "authgear_requests_total", `,outcome="credentials_too_large"`, 2)
			}
		})
	}
}

// An HTTP/2 resolver advertises a header list limit; a client that pads the
// headers it controls so that the refresh of its cached answer no longer fits
// gets no stale answer: the refresh is refused as a 4xx would be, the entry
// is dropped, and the revoked user's identity stops at once.
func TestAClientCannotMakeTheRefreshOfItsAnswerFail(t *testing.T) {
	f, ca := newTLSResolver(t, 4096) // advertises 4,416 bytes
	h, rec := newNamed(t, f, t.Name(), func(c *authgear.Config) {
		c.TLS.CA = ca
		revalidating(c)
		c.StaleIfError = "1h"
		c.RequireSession = true
		withMetrics(c)
	})
	// The junk bearer token, which Authgear ignores, brings the request close
	// to the limit: it fits with small unkeyed headers, not with large ones.
	credentials := map[string]string{"Cookie": "session=user:bob", "Authorization": "Bearer junk" + strings.Repeat("x", 3500)}
	padded := merge(credentials, map[string]string{
		"User-Agent":      strings.Repeat("u", 4096),
		"X-Forwarded-For": strings.Repeat("198.51.100.7, ", 300) + "198.51.100.8",
	})
	if _, s := do(h, rec, request{header: credentials}); s.identity["x-authgear-user-id"] != "id-bob" {
		t.Fatalf("bob's first request: backend saw %v", s.identity)
	}
	pastTTL()
	f.disabled.Store("bob", true) // revoked; no webhook
	// The one request served while its refresh runs (cacheTTL plus one request).
	if _, s := do(h, rec, request{header: padded}); s.identity["x-authgear-user-id"] != "id-bob" {
		t.Fatalf("the request that starts the refresh: backend saw %v", s.identity)
	}
	eventually(t, "the padded request no longer reaches the backend", func() bool {
		w, s := do(h, rec, request{header: padded})
		if s.called && s.identity["x-authgear-user-id"] == "" {
			t.Fatalf("the backend was reached without identity on a requireSession route")
		}
		return w.Code == http.StatusRequestHeaderFieldsTooLarge
	})
	for i := 0; i < 5; i++ {
		if w, s := do(h, rec, request{header: padded}); s.called || w.Code != http.StatusRequestHeaderFieldsTooLarge {
			t.Fatalf("padded request %d after the refused refresh: status %d, backend saw %v", i, w.Code, s.identity)
		}
	}
	if got := f.calls.Load(); got != 1 {
		t.Fatalf("resolver calls = %d, want 1: the padded calls are never sent", got)
	}
	// The same credentials with ordinary headers reach Authgear, which says
	// bob is gone.
	if w, s := do(h, rec, request{header: credentials}); w.Code != http.StatusUnauthorized || s.called {
		t.Fatalf("bob after the revocation: status %d, backend reached %v; want 401", w.Code, s.called)
	}
	awaitMetric(t, h, "authgear_requests_total", `,outcome="stale_served"`, 0)
}

// With maxRefreshes (32) refreshes held by a slow resolver, an answer past
// cacheTTL that no refresh covers is not served unchecked: the request waits
// for its own call, and a revoked user is refused.
func TestRefreshesAtTheirBoundDoNotFreezeRevocation(t *testing.T) {
	const bound = 32
	f, h, _ := newHandler(t, func(c *authgear.Config) { revalidating(c); c.RequireSession = true; c.Timeout = "10s" })
	f.everyone = true
	expect(t, h, "Bearer user:alice", 200, "id-alice")
	others := make([]string, bound)
	for i := range others {
		others[i] = "Bearer other-" + strconv.Itoa(i)
		outcome(t, serveAsync(h, nil, others[i]))
	}
	pastTTL()
	f.hold()
	for _, other := range others { // each served at once, its refresh held
		if w := outcome(t, serveAsync(h, nil, other)); w.Code != 200 {
			t.Fatalf("%s past cacheTTL: status %d, want 200 at once", other, w.Code)
		}
	}
	for i := 0; i < bound; i++ {
		f.awaitArrival(t)
	}
	f.disabled.Store("alice", true)
	alice := serveAsync(h, nil, "Bearer user:alice")
	f.awaitArrival(t) // alice's own call, not a stale answer
	go f.release(bound + 1)
	if w := outcome(t, alice); w.Code != http.StatusUnauthorized || backendUser(w) != "" {
		t.Fatalf("revoked alice with the refreshes at their bound: status %d, backend saw %q; want 401", w.Code, backendUser(w))
	}
}

// Only an answer with a valid session is promoted to the protected segment:
// a scanner that sends each junk credential several times cannot evict a
// user who came back.
func TestAFloodOfNewCredentialsDoesNotEvictReturningUsers(t *testing.T) {
	for _, times := range []int{1, 2, 3} {
		t.Run("each junk credential sent "+strconv.Itoa(times)+" times", func(t *testing.T) {
			f, h, _ := newHandler(t, func(c *authgear.Config) { c.CacheTTL = "1h"; c.CacheMaxEntries = 100 })
			// Alice comes back once: her entry is protected.
			expect(t, h, "Bearer user:alice", 200, "id-alice")
			expect(t, h, "Bearer user:alice", 200, "id-alice")
			// A scanner sends 1,000 credentials, ten times the cache.
			for i := 0; i < 1000; i++ {
				junk := request{header: map[string]string{"Authorization": "Bearer junk-" + strconv.Itoa(i)}}
				for n := 0; n < times; n++ {
					h.ServeHTTP(httptest.NewRecorder(), junk.build())
				}
			}
			before := f.calls.Load()
			expect(t, h, "Bearer user:alice", 200, "id-alice")
			if got := f.calls.Load() - before; got != 0 {
				t.Fatalf("alice's request after the flood made %d resolver calls, want 0 (still cached)", got)
			}
		})
	}
}
