//go:build e2e

package e2e

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/traefik-authgear/traefik-authgear/harness/internal/harness"
	"github.com/traefik-authgear/traefik-authgear/harness/internal/standin"
)

// webhookSecret is the signing key of the recorded Authgear webhook
// deliveries in testdata/fixtures/webhook (see its README).
const webhookSecret = "AAjy0NuAyFXpcqOdBae_lFRXqaGvevZB"

// TestCacheCallCounts: repeated requests with the same credentials make one
// resolver call per credential set; unrelated cookies do not split the cache;
// cacheTTL 0 calls every time.
func TestCacheCallCounts(t *testing.T) {
	e := mainEnv(t)
	steps := []struct {
		headers   []string
		user      string
		wantCalls int64 // total since the start of the test
	}{
		{[]string{"Cookie", "session=alice-session"}, "alice", 1},
		{[]string{"Cookie", "session=alice-session"}, "alice", 1},
		{[]string{"Cookie", "theme=dark; session=alice-session"}, "alice", 1},
		{[]string{"Authorization", "Bearer bob-token"}, "bob", 2},
		{[]string{"Cookie", "session=alice-session"}, "alice", 2},
		{[]string{"Authorization", "Bearer bob-token"}, "bob", 2},
		{[]string{"Cookie", "app_session=bob-app-session"}, "bob", 3},
		{[]string{"Cookie", "app_session=bob-app-session"}, "bob", 3},
	}
	n := calls(e.resolver(t, "cached"))
	for i, s := range steps {
		e.get(t, "/cached/x", s.headers...).wantStatus(t, http.StatusOK).wantIdentity(t, identityOf(t, s.user))
		if n() != s.wantCalls {
			t.Fatalf("after request %d (%v): %d resolver calls, want %d", i+1, s.headers, n(), s.wantCalls)
		}
	}

	n = calls(e.resolver(t, "nocache"))
	for i := 0; i < 5; i++ {
		e.get(t, "/nocache/x", "Cookie", "session=alice-session").wantStatus(t, http.StatusOK).wantIdentity(t, identityOf(t, "alice"))
	}
	if n() != 5 {
		t.Errorf("cacheTTL 0: %d resolver calls for 5 requests, want 5", n())
	}
}

// TestSharedMiddlewareAcrossRouters: two routers using one middleware share
// its cache, so the second router's first request is a hit.
func TestSharedMiddlewareAcrossRouters(t *testing.T) {
	e := mainEnv(t)
	n := calls(e.resolver(t, "shared"))
	for i, s := range []struct {
		path, cookie, user string
		wantCalls          int64
	}{
		{"/shared-a/x", "session=alice-session", "alice", 1},
		{"/shared-b/x", "session=alice-session", "alice", 1},
		{"/shared-b/x", "session=bob-session", "bob", 2},
		{"/shared-a/x", "session=bob-session", "bob", 2},
	} {
		e.get(t, s.path, "Cookie", s.cookie).wantStatus(t, http.StatusOK).wantIdentity(t, identityOf(t, s.user))
		if n() != s.wantCalls {
			t.Fatalf("after request %d (%s as %s): %d resolver calls, want %d", i+1, s.path, s.user, n(), s.wantCalls)
		}
	}
}

// TestCacheExpiry: an answer is reused until cacheTTL has passed.
func TestCacheExpiry(t *testing.T) {
	e := mainEnv(t)
	n := calls(e.resolver(t, "shortttl"))
	alice := identityOf(t, "alice")
	e.get(t, "/shortttl/x", "Cookie", "session=alice-session").wantIdentity(t, alice)
	e.get(t, "/shortttl/x", "Cookie", "session=alice-session").wantIdentity(t, alice)
	if n() != 1 {
		t.Fatalf("%d resolver calls within cacheTTL, want 1", n())
	}
	time.Sleep(1200 * time.Millisecond)
	e.get(t, "/shortttl/x", "Cookie", "session=alice-session").wantIdentity(t, alice)
	if n() != 2 {
		t.Errorf("%d resolver calls after cacheTTL, want 2", n())
	}
}

// TestWebhookEvictsUser replays a recorded Authgear webhook delivery
// (user.disabled) through Traefik: the user's cached answers are evicted,
// other users' are kept, and a delivery with a bad signature is refused.
func TestWebhookEvictsUser(t *testing.T) {
	e := mainEnv(t)
	header, body := readDelivery(t, "user.disabled.http")
	const fixtureUser = "ae9dd108-048e-4576-86ca-2c69bcd2ad08" // the user the recorded event names
	r := e.resolver(t, "webhook")
	r.SetUsers(append(r.Users(), standin.User{ID: fixtureUser, Sessions: []string{"fixture-session"}}))

	n := calls(r)
	for i := 0; i < 2; i++ {
		e.get(t, "/webhook/x", "Cookie", "session=fixture-session").wantStatus(t, http.StatusOK)
		e.get(t, "/webhook/x", "Cookie", "session=bob-session").wantStatus(t, http.StatusOK)
	}
	if n() != 2 {
		t.Fatalf("%d resolver calls before the webhook, want 2", n())
	}

	bad := e.request(t, http.MethodPost, "/webhook/authgear", string(body),
		"Content-Type", "application/json", "X-Authgear-Body-Signature", strings.Repeat("0", 64))
	if bad.status != http.StatusUnauthorized || bad.echo != nil {
		t.Errorf("badly signed delivery: %d %q, want 401 from the middleware", bad.status, bad.body)
	}
	e.get(t, "/webhook/x", "Cookie", "session=fixture-session").wantStatus(t, http.StatusOK)
	if n() != 2 {
		t.Fatalf("after the badly signed delivery: %d resolver calls, want 2 (nothing evicted)", n())
	}

	ok := e.request(t, http.MethodPost, "/webhook/authgear", string(body),
		"Content-Type", header.Get("Content-Type"), "X-Authgear-Body-Signature", header.Get("X-Authgear-Body-Signature"))
	if ok.status != http.StatusOK || ok.echo != nil {
		t.Fatalf("recorded delivery: %d %q, want 200 from the middleware", ok.status, ok.body)
	}

	e.get(t, "/webhook/x", "Cookie", "session=bob-session").wantStatus(t, http.StatusOK)
	if n() != 2 {
		t.Errorf("bob's answer was evicted too: %d resolver calls, want 2", n())
	}
	e.get(t, "/webhook/x", "Cookie", "session=fixture-session").wantStatus(t, http.StatusOK)
	if n() != 3 {
		t.Errorf("after the webhook: %d resolver calls, want 3 (the named user's answer evicted)", n())
	}
}

// readDelivery reads a recorded webhook delivery and checks its signature
// with webhookSecret, so that a wrong key fails here rather than in Traefik.
func readDelivery(t *testing.T, name string) (http.Header, []byte) {
	t.Helper()
	root, err := harness.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(filepath.Join(root, "testdata", "fixtures", "webhook", name))
	if err != nil {
		t.Fatal(err)
	}
	// The recording is "request line, headers, blank line, body", the request
	// line without a protocol version, so it is read by hand.
	head, body, ok := bytes.Cut(data, []byte("\n\n"))
	if !ok {
		t.Fatalf("%s: no blank line after the headers", name)
	}
	header := http.Header{}
	for _, line := range strings.Split(string(head), "\n")[1:] {
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			t.Fatalf("%s: bad header line %q", name, line)
		}
		header.Add(strings.TrimSpace(k), strings.TrimSpace(v))
	}
	mac := hmac.New(sha256.New, []byte(webhookSecret))
	mac.Write(body)
	if sig := hex.EncodeToString(mac.Sum(nil)); sig != header.Get("X-Authgear-Body-Signature") {
		t.Fatalf("%s: signature %s does not verify with the fixture key", name, header.Get("X-Authgear-Body-Signature"))
	}
	return header, body
}
