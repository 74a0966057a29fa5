package authgear_test

import (
	"bufio"
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
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

// emptySecretFile is an empty file, for webhookSecretFile's error.
const emptySecretFile = "testdata/secrets/empty"

// loadDelivery returns the signature and body of a webhook request recorded
// from a real Authgear server (its request line without the HTTP version).
func loadDelivery(t testing.TB, name string) (string, []byte) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", "fixtures", "webhook", name+".http"))
	if err != nil {
		t.Fatal(err)
	}
	line, rest, _ := bytes.Cut(data, []byte("\n"))
	data = append([]byte(strings.TrimSpace(string(line))+" HTTP/1.1\r\n"), rest...)
	req, err := http.ReadRequest(bufio.NewReader(bytes.NewReader(data)))
	if err != nil {
		t.Fatalf("delivery %s: %v", name, err)
	}
	body, err := io.ReadAll(req.Body)
	if err != nil {
		t.Fatalf("delivery %s: %v", name, err)
	}
	return req.Header.Get("X-Authgear-Body-Signature"), body
}

// sign returns the signature Authgear sends for body under secret.
func sign(secret string, body []byte) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write(body)
	return hex.EncodeToString(mac.Sum(nil))
}

// postWebhook sends body with the signature to the handler's webhook path.
func postWebhook(h http.Handler, method, signature string, body io.Reader) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, "http://api.example.test/_authgear/webhook", body)
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

// disableByWebhook posts a signed user.disabled delivery for the user id.
func disableByWebhook(t *testing.T, h http.Handler, userID string) {
	t.Helper()
	body := []byte(`{"type":"user.disabled","context":{"user_id":"` + userID + `"}}`)
	if w := postWebhook(h, "POST", sign(webhookSecret, body), bytes.NewReader(body)); w.Code != http.StatusOK {
		t.Fatalf("webhook delivery for %s: status %d", userID, w.Code)
	}
}

// A delivery that Authgear signed, whatever its event, evicts every cached
// answer of the user it names, on every device and in every middleware of
// the same Authgear app, and no other user's; any other post evicts nothing.
// Neither reaches the backend, unless webhookPath is not set.
func TestWebhookDeliveries(t *testing.T) {
	signature, body := loadDelivery(t, "user.disabled")
	changed := bytes.Replace(body, []byte(`"user.disabled"`), []byte(`"user.disablex"`), 1)
	big := bytes.Repeat([]byte(" "), 1<<20+1)
	padded := []byte(fmt.Sprintf(`{"type":"user.disabled","context":{"user_id":"id-bob"},"pad":%q}`, strings.Repeat("x", 70000)))
	noUser := []byte(`{"type":"project.updated","context":{}}`)
	payloadOnly := []byte(`{"type":"user.deleted","payload":{"user":{"id":"id-bob"}},"context":{}}`)
	// The secret file holds the secret and a newline, as Docker mounts it.
	fromFile := func(c *authgear.Config) {
		c.WebhookPath = "/_authgear/webhook"
		c.WebhookSecretFile = "testdata/secrets/webhook"
	}
	tests := []struct {
		name, method, delivery, signature string // delivery: a recorded one, instead of signature and body
		edit                              func(*authgear.Config)
		body                              []byte
		want                              int
		evicts, unread                    bool // the named user is evicted; refused before any body byte is read
	}{
		{"recorded user.authenticated", "POST", "user.authenticated", "", withWebhook, nil, 200, true, false},
		{"recorded user.disabled", "POST", "user.disabled", "", withWebhook, nil, 200, true, false},
		{"recorded user.reenabled", "POST", "user.reenabled", "", withWebhook, nil, 200, true, false},
		{"the secret read from a file", "POST", "user.disabled", "", fromFile, nil, 200, true, false},
		{"the user named in the payload when the context has none", "POST", "", sign(webhookSecret, payloadOnly), withWebhook, payloadOnly, 200, true, false},
		{"signed event without a user", "POST", "", sign(webhookSecret, noUser), withWebhook, noUser, 200, false, false},
		{"wrong key", "POST", "", sign("another-secret", body), withWebhook, body, 401, false, false},
		{"changed byte", "POST", "", signature, withWebhook, changed, 401, false, false},
		{"missing signature", "POST", "", "", withWebhook, body, 401, false, true},
		{"not a signature's form", "POST", "", "not-a-signature", withWebhook, []byte(strings.Repeat("x", 100000)), 401, false, true},
		{"upper-case hex", "POST", "", strings.ToUpper(signature), withWebhook, body, 401, false, false},
		{"GET", "GET", "", signature, withWebhook, nil, 405, false, false},
		{"body over 1 MiB", "POST", "", sign(webhookSecret, big), withWebhook, big, 413, false, false},
		{"a signed 70 KB delivery (real ones are a few KiB)", "POST", "", sign(webhookSecret, padded), withWebhook, padded, 413, false, false},
		{"signed but not JSON", "POST", "", sign(webhookSecret, []byte("{oops")), withWebhook, []byte("{oops"), 400, false, false},
		{"without webhookPath, an ordinary path: the post goes on", "POST", "user.disabled", "", nil, nil, 200, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			signature, body := tt.signature, tt.body
			if tt.delivery != "" {
				signature, body = loadDelivery(t, tt.delivery)
				if got := sign(webhookSecret, body); got != signature {
					t.Fatalf("recorded signature %s, computed %s", signature, got)
				}
			}
			f := newFakeResolver(t)
			h, rec := newNamed(t, f, t.Name()+"/api", tt.edit)
			// A middleware of the same app with other settings, one of another app.
			admin, adminRec := newNamed(t, f, t.Name()+"/admin", func(c *authgear.Config) { c.AllowedRoles = []string{"editor"} })
			other, otherRec := newNamed(t, f, t.Name()+"/other-app", func(c *authgear.Config) { c.ResolverHost = "auth.other.test" })
			requests := func() { // the users of the deliveries, on two devices and in the other middlewares, and alice
				for _, user := range []string{"fixture-user", "bob"} {
					for _, r := range []map[string]string{bearer(user), cookie("session", user)} {
						_, s := do(h, rec, request{header: r})
						assertUser(t, s, user)
					}
					do(admin, adminRec, request{header: cookie("session", user)})
					do(other, otherRec, request{header: cookie("session", user)})
				}
				_, s := do(h, rec, request{header: bearer("alice")})
				assertUser(t, s, "alice")
			}
			requests()
			counted := bytes.NewReader(body)
			w := postWebhook(h, tt.method, signature, counted)
			hits := map[bool]int{false: 5, true: 6}[tt.edit == nil] // the post goes on without webhookPath
			switch {
			case w.Code != tt.want || rec.hits != hits:
				t.Fatalf("status %d %q, backend hits %d; want %d and %d hits", w.Code, w.Body.String(), rec.hits, tt.want, hits)
			case tt.unread && counted.Len() != len(body):
				t.Fatalf("%d bytes of the body read, want none", len(body)-counted.Len())
			case tt.want == 405 && w.Header().Get("Allow") != "POST":
				t.Fatalf("Allow %q, want POST", w.Header().Get("Allow"))
			}
			// Only the named user's entries in the app's middlewares are re-resolved.
			requests()
			if got, want := f.calls.Load(), map[bool]int64{false: 9, true: 12}[tt.evicts]; got != want {
				t.Fatalf("resolver calls = %d, want %d", got, want)
			}
		})
	}
}

// The metrics count what users notice, and the log has a line for refused
// webhook posts without hiding a later resolver failure.
func TestMetricsAndLogCountWhatUsersNotice(t *testing.T) {
	f, h, rec := newHandler(t, func(c *authgear.Config) { withMetrics(c); withWebhook(c); c.AllowedRoles = []string{"admin"} })
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	stderr := os.Stderr
	os.Stderr = w
	do(h, rec, request{header: bearer("alice")}) // miss
	do(h, rec, request{header: bearer("alice")}) // hit
	do(h, rec, request{header: bearer("bob")})   // miss, 403
	do(h, rec, request{})                        // no credential, 401
	for i := 0; i < 3; i++ {
		postWebhook(h, "POST", "bogus", strings.NewReader(`{}`))
	}
	f.status.Store(500)
	do(h, rec, request{header: bearer("carol")}) // miss, 502
	os.Stderr = stderr
	_ = w.Close()
	if out, _ := io.ReadAll(r); !strings.Contains(string(out), "webhook delivery") || !strings.Contains(string(out), "resolver call failed") {
		t.Fatalf("stderr %q: want a line for the refused posts and one for the resolver failure", out)
	}

	_, body := scrape(h, "127.0.0.1:5555")
	name := `middleware="` + t.Name() + `"`
	for _, want := range []string{
		`authgear_requests_total{` + name + `,outcome="cache_hit"} 1`,
		`authgear_requests_total{` + name + `,outcome="cache_miss"} 3`,
		`authgear_requests_total{` + name + `,outcome="forbidden"} 1`,
		`authgear_requests_total{` + name + `,outcome="unauthorized"} 1`,
		`authgear_requests_total{` + name + `,outcome="resolver_error"} 1`,
		`authgear_resolver_calls_total{` + name + `,result="ok"} 2`,
		`authgear_resolver_calls_total{` + name + `,result="status_error"} 1`,
		`authgear_resolver_call_duration_seconds_count{` + name + `} 3`,
		`authgear_cache_entries{` + name + `} 2`,
		`authgear_webhook_deliveries_total{` + name + `,result="refused"} 3`,
	} {
		if !strings.Contains(body, want+"\n") {
			t.Errorf("metrics lack %q", want)
		}
	}
}

func TestMetricsAllowedIPs(t *testing.T) {
	f := newFakeResolver(t)
	for _, tt := range []struct {
		allowed []string // metricsAllowedIPs; loopback only when nil
		remote  string
		want    int
	}{
		{nil, "127.0.0.1:5555", 200}, {nil, "203.0.113.9:5555", 403},
		{[]string{"10.0.0.0/8, 192.0.2.7"}, "10.1.2.3:1", 200},
		{[]string{"10.0.0.0/8, 192.0.2.7"}, "192.0.2.7:1", 200},
		{[]string{"10.0.0.0/8, 192.0.2.7"}, "192.0.2.8:1", 403},
		{[]string{"10.0.0.0/8, 192.0.2.7"}, "127.0.0.1:1", 403},
	} {
		h, _ := newNamed(t, f, t.Name(), func(c *authgear.Config) { withMetrics(c); c.MetricsAllowedIPs = tt.allowed })
		if status, _ := scrape(h, tt.remote); status != tt.want {
			t.Errorf("metrics allowing %v from %s: %d, want %d", tt.allowed, tt.remote, status, tt.want)
		}
	}
}
