package interpreted

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"math/rand"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/traefik-authgear/traefik-authgear/harness/internal/stack"
	"github.com/traefik-authgear/traefik-authgear/harness/internal/standin"
)

const (
	webhookPath   = "/_authgear/webhook"
	webhookSecret = "interpreted-secret"
	users         = 24
	clients       = 64
	// coldStarts is how many fresh interpreters each configuration is driven
	// in: a first use that Yaegi leaves unsynchronised is reported by the
	// race detector in about half of the cold starts (the interpreter's own
	// locks often order the goroutines' first calls), so one is not enough.
	coldStarts = 6
	perClient  = 10 // requests per client and cold start
	evictions  = 30 // webhook deliveries per cold start
)

// tokenOf and idOf name test user i's bearer token and user id.
func tokenOf(i int) string { return "token-" + strconv.Itoa(i) }
func idOf(i int) string    { return "id-" + strconv.Itoa(i) }

// checkIdentity is the backend: it answers 200 "ok" only when the identity
// it sees is exactly the one the client's credentials belong to, which the
// client says in X-Test-Want ("" for none).
func checkIdentity(w http.ResponseWriter, r *http.Request) {
	want := r.Header.Get("X-Test-Want")
	got := r.Header.Get("X-Authgear-User-Id")
	if got != want || (want != "" && r.Header.Get("X-Authgear-Session-Valid") != "true") {
		w.WriteHeader(http.StatusConflict)
		fmt.Fprintf(w, "backend saw user %q, want %q", got, want)
		return
	}
	if asserted := assertedSubject(r.Header.Get("X-Authgear-Jwt-Assertion")); asserted != want {
		w.WriteHeader(http.StatusConflict)
		fmt.Fprintf(w, "backend saw an assertion for %q, want %q", asserted, want)
		return
	}
	_, _ = io.WriteString(w, "ok")
}

// assertedSubject is the sub of a signed assertion's payload ("" for none);
// its signature is checked by the plugin's tests and the end-to-end ones.
func assertedSubject(token string) string {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return ""
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	var claims struct {
		Sub string `json:"sub"`
	}
	if err != nil || json.Unmarshal(payload, &claims) != nil {
		return ""
	}
	return claims.Sub
}

// TestInterpretedPluginUnderConcurrency drives the interpreted plugin from
// many goroutines: shared misses, expiring entries, clients giving up,
// webhook evictions. Every request gets exactly its own identity, or the
// policy's refusal, in bounded time; and under -race, no first use of a path
// races in the interpreter.
func TestInterpretedPluginUnderConcurrency(t *testing.T) {
	// Expired entries make requests wait, or are served while refreshed.
	for _, staleWhileRevalidate := range []string{"0", "5m"} {
		t.Run("staleWhileRevalidate="+staleWhileRevalidate, func(t *testing.T) {
			for round := range coldStarts {
				driveColdStart(t, staleWhileRevalidate, round)
			}
		})
	}
}

// driveColdStart loads the plugin into a fresh interpreter and releases every
// client at once, with no request before: each path's first run under this
// interpreter is a concurrent one. Yaegi v0.16.1 builds some reflect types
// at their first use, unsynchronised (see the plugin's yaegi.go), so that a
// first use the plugin leaves to its requests is a data race that -race sees.
func driveColdStart(t *testing.T, staleWhileRevalidate string, round int) {
	var us []standin.User
	for i := range users {
		us = append(us, standin.User{ID: idOf(i), BearerTokens: []string{tokenOf(i)}, Verified: true, AMR: "pwd"})
	}
	resolver := standin.New(standin.Config{PublicHost: stack.PublicHost, Users: us})
	resolver.SetFault(standin.Fault{Latency: 3 * time.Millisecond}) // long enough for misses to wait
	srv := httptest.NewServer(resolver)
	defer srv.Close()

	plugin, err := Load(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	h, err := plugin.New(http.HandlerFunc(checkIdentity), "interpreted-"+staleWhileRevalidate+"@file", map[string]any{
		"ResolverURL":          srv.URL + "/_resolver/resolve",
		"ResolverHost":         "https://" + stack.PublicHost,
		"CacheTTL":             "0.02", // entries expire while the load runs: misses all along
		"StaleWhileRevalidate": staleWhileRevalidate,
		"RequireSession":       true,
		"JWTAssertion":         true, // minted per answer, re-minted as entries expire
		"WebhookPath":          webhookPath,
		"WebhookSecret":        webhookSecret,
	})
	if err != nil {
		t.Fatal(err)
	}

	deadline := time.Now().Add(2 * time.Minute)
	var wg sync.WaitGroup
	failures := make(chan string, clients*perClient+evictions)
	start := make(chan struct{})
	for c := range clients {
		wg.Go(func() { <-start; drive(h, int64(round*clients+c), deadline, failures) })
	}
	wg.Go(func() { <-start; evict(h, int64(round), deadline, failures) })
	close(start)
	wg.Wait()
	close(failures)
	if n := len(failures); n > 0 {
		for range min(n, 10) {
			t.Error(<-failures)
		}
		t.Fatalf("cold start %d: %d requests went wrong under the interpreter", round, n)
	}
	if calls := resolver.Calls(); calls == 0 || calls >= clients*perClient {
		t.Fatalf("cold start %d: %d resolver calls for %d requests: want some, and fewer than one per request", round, calls, clients*perClient)
	}
}

// drive sends one client's requests: a random user's token each time, now
// and then none, now and then with a client that gives up at once.
func drive(h http.Handler, seed int64, deadline time.Time, failures chan<- string) {
	rnd := rand.New(rand.NewSource(seed))
	for i := 0; i < perClient && time.Now().Before(deadline); i++ {
		u := rnd.Intn(users + 1) // users: no credential
		req := httptest.NewRequest(http.MethodGet, "http://api.example.test/things", nil)
		if u < users {
			req.Header.Set("Authorization", "Bearer "+tokenOf(u))
			req.Header.Set("X-Test-Want", idOf(u))
		}
		req.Header.Set("X-Authgear-User-Id", "forged") // always stripped
		gaveUp := rnd.Intn(10) == 0
		if gaveUp {
			ctx, cancel := context.WithCancel(context.Background())
			cancel()
			req = req.WithContext(ctx)
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		body := strings.TrimSpace(w.Body.String())
		switch {
		case u == users && w.Code == http.StatusUnauthorized:
		case u < users && w.Code == http.StatusOK && body == "ok":
		case u < users && gaveUp && w.Code == 499:
		default:
			failures <- fmt.Sprintf("user %d (gave up %v): status %d %q", u, gaveUp, w.Code, body)
		}
	}
}

// evict posts signed user.disabled deliveries for random users meanwhile.
func evict(h http.Handler, seed int64, deadline time.Time, failures chan<- string) {
	rnd := rand.New(rand.NewSource(-1 - seed))
	for i := 0; i < evictions && time.Now().Before(deadline); i++ {
		body := fmt.Sprintf(`{"type":"user.disabled","context":{"user_id":%q}}`, idOf(rnd.Intn(users)))
		mac := hmac.New(sha256.New, []byte(webhookSecret))
		mac.Write([]byte(body))
		req := httptest.NewRequest(http.MethodPost, "http://api.example.test"+webhookPath, strings.NewReader(body))
		req.Header.Set("X-Authgear-Body-Signature", hex.EncodeToString(mac.Sum(nil)))
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		if w.Code != http.StatusOK {
			failures <- fmt.Sprintf("webhook delivery: status %d %q", w.Code, w.Body.String())
		}
	}
}
