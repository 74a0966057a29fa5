package authgear_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	authgear "github.com/traefik-authgear/traefik-authgear"
)

// webhookSecret is the key that signed the recorded deliveries.
const webhookSecret = "AAjy0NuAyFXpcqOdBae_lFRXqaGvevZB"

// delivery is a webhook request recorded from a real Authgear server.
type delivery struct {
	signature string
	body      []byte
}

func loadDelivery(t testing.TB, name string) delivery {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", "fixtures", "webhook", name+".http"))
	if err != nil {
		t.Fatal(err)
	}
	req, err := http.ReadRequest(bufio.NewReader(bytes.NewReader(withVersion(data))))
	if err != nil {
		t.Fatalf("delivery %s: %v", name, err)
	}
	body, err := io.ReadAll(req.Body)
	if err != nil {
		t.Fatalf("delivery %s: %v", name, err)
	}
	return delivery{signature: req.Header.Get("X-Authgear-Body-Signature"), body: body}
}

// withVersion adds the HTTP version the recorded request line leaves out.
func withVersion(data []byte) []byte {
	line, rest, _ := bytes.Cut(data, []byte("\n"))
	out := []byte(strings.TrimSpace(string(line)) + " HTTP/1.1\r\n")
	return append(out, rest...)
}

// sign returns the signature Authgear sends for body under secret.
func sign(secret string, body []byte) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write(body)
	return hex.EncodeToString(mac.Sum(nil))
}

// postWebhook delivers body with the signature to the handler.
func postWebhook(h http.Handler, method, path, signature string, body []byte) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, "http://api.example.test"+path, bytes.NewReader(body))
	if signature != "" {
		req.Header.Set("X-Authgear-Body-Signature", signature)
	}
	req.Header.Set("Content-Type", "application/json")
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	return w
}

func withWebhook(c *authgear.Config) {
	c.WebhookPath = "/_authgear/webhook"
	c.WebhookSecret = webhookSecret
}

func TestRecordedDeliveriesVerify(t *testing.T) {
	for _, name := range []string{"user.authenticated", "user.disabled", "user.reenabled"} {
		t.Run(name, func(t *testing.T) {
			d := loadDelivery(t, name)
			if got := sign(webhookSecret, d.body); got != d.signature {
				t.Fatalf("recorded signature %s, computed %s", d.signature, got)
			}
			h, rec := newHandler(t, newFakeResolver(t), withWebhook)
			w := postWebhook(h, http.MethodPost, "/_authgear/webhook", d.signature, d.body)
			if w.Code != http.StatusOK {
				t.Fatalf("status %d %q, want 200", w.Code, w.Body.String())
			}
			if rec.hits != 0 {
				t.Fatal("the webhook delivery reached the backend")
			}
		})
	}
}

func TestWebhookRefusesWhatAuthgearDidNotSign(t *testing.T) {
	d := loadDelivery(t, "user.disabled")
	changed := bytes.Replace(d.body, []byte(`"user.disabled"`), []byte(`"user.disablex"`), 1)
	big := bytes.Repeat([]byte(" "), 1<<20+1)
	tests := []struct {
		name      string
		method    string
		path      string
		signature string
		body      []byte
		want      int
	}{
		{"wrong key", "POST", "/_authgear/webhook", sign("another-secret", d.body), d.body, 401},
		{"changed byte", "POST", "/_authgear/webhook", d.signature, changed, 401},
		{"missing signature", "POST", "/_authgear/webhook", "", d.body, 401},
		{"upper-case hex", "POST", "/_authgear/webhook", strings.ToUpper(d.signature), d.body, 401},
		{"GET", "GET", "/_authgear/webhook", d.signature, nil, 405},
		{"body over 1 MiB", "POST", "/_authgear/webhook", sign(webhookSecret, big), big, 413},
		{"signed but not JSON", "POST", "/_authgear/webhook", sign(webhookSecret, []byte("{oops")), []byte("{oops"), 400},
		{"signed event without a user", "POST", "/_authgear/webhook", sign(webhookSecret, []byte(`{"type":"project.updated","context":{}}`)), []byte(`{"type":"project.updated","context":{}}`), 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeResolver(t)
			h, rec := newHandler(t, f, withWebhook)
			do(t, h, rec, request{header: bearer("fixture-user")})
			w := postWebhook(h, tt.method, tt.path, tt.signature, tt.body)
			if w.Code != tt.want {
				t.Fatalf("status %d %q, want %d", w.Code, w.Body.String(), tt.want)
			}
			if tt.want == 405 && w.Header().Get("Allow") != "POST" {
				t.Fatalf("Allow %q, want POST", w.Header().Get("Allow"))
			}
			if rec.hits != 1 {
				t.Fatalf("backend reached %d times, want 1 (the webhook never goes on)", rec.hits)
			}
			// Nothing was evicted: the user's next request is still a hit.
			_, s := do(t, h, rec, request{header: bearer("fixture-user")})
			assertUser(t, s, "fixture-user")
			if got := f.calls.Load(); got != 1 {
				t.Fatalf("resolver calls = %d, want 1: a refused delivery must evict nothing", got)
			}
		})
	}
}

func TestWebhookEvictsExactlyThatUser(t *testing.T) {
	f := newFakeResolver(t)
	h, rec := newHandler(t, f, withWebhook)
	// The user of the recorded deliveries, on two devices, and alice.
	do(t, h, rec, request{header: bearer("fixture-user")})
	do(t, h, rec, request{cookies: cookie("session", "fixture-user")})
	do(t, h, rec, request{header: bearer("alice")})
	if got := f.calls.Load(); got != 3 {
		t.Fatalf("resolver calls = %d, want 3", got)
	}
	d := loadDelivery(t, "user.disabled")
	if w := postWebhook(h, http.MethodPost, "/_authgear/webhook", d.signature, d.body); w.Code != 200 {
		t.Fatalf("status %d %q", w.Code, w.Body.String())
	}
	_, s := do(t, h, rec, request{header: bearer("alice")})
	assertUser(t, s, "alice")
	if got := f.calls.Load(); got != 3 {
		t.Fatalf("alice's entry was evicted: resolver calls = %d, want 3", got)
	}
	do(t, h, rec, request{header: bearer("fixture-user")})
	do(t, h, rec, request{cookies: cookie("session", "fixture-user")})
	if got := f.calls.Load(); got != 5 {
		t.Fatalf("resolver calls = %d, want 5: both of the user's entries must be re-resolved", got)
	}
}

func TestWebhookNamesTheUserInPayloadWhenContextHasNone(t *testing.T) {
	f := newFakeResolver(t)
	h, rec := newHandler(t, f, withWebhook)
	do(t, h, rec, request{header: bearer("bob")})
	body := []byte(`{"type":"user.deleted","payload":{"user":{"id":"id-bob"}},"context":{}}`)
	if w := postWebhook(h, http.MethodPost, "/_authgear/webhook", sign(webhookSecret, body), body); w.Code != 200 {
		t.Fatalf("status %d", w.Code)
	}
	do(t, h, rec, request{header: bearer("bob")})
	if got := f.calls.Load(); got != 2 {
		t.Fatalf("resolver calls = %d, want 2", got)
	}
}

func TestWebhookEvictsInEveryMiddlewareOfTheSameApp(t *testing.T) {
	f := newFakeResolver(t)
	build := func(name, host string, edit func(*authgear.Config)) (http.Handler, *recorder) {
		cfg := authgear.CreateConfig()
		cfg.ResolverURL = f.url()
		cfg.ResolverHost = host
		if edit != nil {
			edit(cfg)
		}
		rec := &recorder{}
		h, err := authgear.New(context.Background(), rec, cfg, t.Name()+"/"+name)
		if err != nil {
			t.Fatal(err)
		}
		return h, rec
	}
	api, apiRec := build("api", publicHost, withWebhook)
	admin, adminRec := build("admin", publicHost, func(c *authgear.Config) { c.AllowedRoles = []string{"editor"} })
	other, otherRec := build("other-app", "auth.other.test", nil)
	do(t, api, apiRec, request{cookies: cookie("session", "bob")})
	do(t, admin, adminRec, request{cookies: cookie("session", "bob")})
	do(t, other, otherRec, request{cookies: cookie("session", "bob")})
	if got := f.calls.Load(); got != 3 {
		t.Fatalf("resolver calls = %d, want 3", got)
	}
	body := []byte(`{"type":"user.signed_out","context":{"user_id":"id-bob"}}`)
	if w := postWebhook(api, http.MethodPost, "/_authgear/webhook", sign(webhookSecret, body), body); w.Code != 200 {
		t.Fatalf("status %d", w.Code)
	}
	do(t, api, apiRec, request{cookies: cookie("session", "bob")})
	do(t, admin, adminRec, request{cookies: cookie("session", "bob")})
	do(t, other, otherRec, request{cookies: cookie("session", "bob")})
	if got := f.calls.Load(); got != 5 {
		t.Fatalf("resolver calls = %d, want 5: both middlewares of the app re-resolve, the other app's does not", got)
	}
}

func TestWebhookPathIsAnOrdinaryPathWithoutWebhookPath(t *testing.T) {
	h, rec := newHandler(t, newFakeResolver(t), nil)
	d := loadDelivery(t, "user.disabled")
	if w := postWebhook(h, http.MethodPost, "/_authgear/webhook", d.signature, d.body); w.Code != 200 || rec.hits != 1 {
		t.Fatalf("status %d, backend hits %d: without webhookPath the request must go on", w.Code, rec.hits)
	}
}

// emptySecretFile is an empty file, for webhookSecretFile's error.
const emptySecretFile = "testdata/secrets/empty"

func TestWebhookSecretFromAFile(t *testing.T) {
	f := newFakeResolver(t)
	h, rec := newHandler(t, f, func(c *authgear.Config) {
		c.WebhookPath = "/_authgear/webhook"
		c.WebhookSecretFile = "testdata/secrets/webhook" // the secret and a newline, as Docker mounts it
	})
	do(t, h, rec, request{cookies: cookie("session", "fixture-user")})
	d := loadDelivery(t, "user.disabled")
	if w := postWebhook(h, http.MethodPost, "/_authgear/webhook", d.signature, d.body); w.Code != http.StatusOK {
		t.Fatalf("a delivery signed with the file's secret: %d %q", w.Code, w.Body.String())
	}
}

// disableByWebhook posts a signed user.disabled delivery for the user id to
// the handler's webhook path and requires it to be taken.
func disableByWebhook(t *testing.T, h http.Handler, userID string) {
	t.Helper()
	body := []byte(`{"type":"user.disabled","context":{"user_id":"` + userID + `"}}`)
	if w := postWebhook(h, http.MethodPost, "/_authgear/webhook", sign(webhookSecret, body), body); w.Code != http.StatusOK {
		t.Fatalf("webhook delivery for %s: status %d", userID, w.Code)
	}
}
