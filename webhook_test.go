package authgear_test

import (
	"bufio"
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

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

// eventCount numbers the events of newEventID.
var eventCount atomic.Int64

// newEventID returns an event id no other delivery in this process has:
// the middleware remembers the ids it accepted, across tests, by app.
func newEventID() string {
	return "test-" + strconv.FormatInt(time.Now().UnixNano(), 16) + "-" + strconv.FormatInt(eventCount.Add(1), 10)
}

// restamp returns a copy of a delivery's body with the id and
// context.timestamp (at, in Unix seconds) replaced, and its signature: a
// delivery of a new event, as Authgear sends it. An empty id or a zero at
// leaves that field out.
func restamp(t testing.TB, body []byte, id string, at time.Time) ([]byte, string) {
	t.Helper()
	var event map[string]any
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber() // numbers as they were
	if err := dec.Decode(&event); err != nil {
		t.Fatalf("restamp: %v", err)
	}
	delete(event, "id")
	if id != "" {
		event["id"] = id
	}
	eventContext, _ := event["context"].(map[string]any)
	if eventContext == nil {
		eventContext = map[string]any{}
		event["context"] = eventContext
	}
	delete(eventContext, "timestamp")
	if !at.IsZero() {
		eventContext["timestamp"] = at.Unix()
	}
	out, err := json.Marshal(event)
	if err != nil {
		t.Fatalf("restamp: %v", err)
	}
	return out, sign(webhookSecret, out)
}

// hasCounts reports whether a webhook answer tells a number: how many
// entries were evicted or peers reached.
func hasCounts(answer string) bool {
	return strings.ContainsAny(answer, "0123456789")
}

// countingPeer is a webhookPeers entry (an IP, so no DNS) whose server
// answers 200 and counts the relays it receives.
func countingPeer(t testing.TB) (string, *atomic.Int64) {
	relays := &atomic.Int64{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost && r.Header.Get("X-Traefik-Authgear-Relay") != "" {
			relays.Add(1)
		}
	}))
	t.Cleanup(srv.Close)
	return srv.Listener.Addr().String(), relays
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

// disableByWebhook posts a signed user.disabled delivery of a new event for
// the user id.
func disableByWebhook(t *testing.T, h http.Handler, userID string) {
	t.Helper()
	body, signature := restamp(t, []byte(`{"type":"user.disabled","context":{"user_id":"`+userID+`"}}`), newEventID(), time.Now())
	if w := postWebhook(h, "POST", signature, bytes.NewReader(body)); w.Code != http.StatusOK || !hasCounts(w.Body.String()) {
		t.Fatalf("webhook delivery for %s: status %d %q", userID, w.Code, w.Body.String())
	}
}

// A delivery that Authgear signed, whatever its event, evicts every cached
// answer of the user it names, on every device and in every middleware of
// the same Authgear app, and no other user's; any other post evicts nothing.
// Neither reaches the backend, unless webhookPath is not set. A recorded
// delivery posted as recorded is late (its timestamp is from 2026-11): it
// still evicts, but its answer tells no counts.
func TestWebhookDeliveries(t *testing.T) {
	signature, body := loadDelivery(t, "user.disabled")
	changed := bytes.Replace(body, []byte(`"user.disabled"`), []byte(`"user.disablex"`), 1)
	big := bytes.Repeat([]byte(" "), 1<<20+1)
	padded := []byte(fmt.Sprintf(`{"type":"user.disabled","context":{"user_id":"id-bob"},"pad":%q}`, strings.Repeat("x", 70000)))
	noUser, noUserSignature := restamp(t, []byte(`{"type":"project.updated","context":{}}`), newEventID(), time.Now())
	payloadOnly, payloadOnlySignature := restamp(t, []byte(`{"type":"user.deleted","payload":{"user":{"id":"id-bob"}},"context":{}}`), newEventID(), time.Now())
	// The secret file holds the secret and a newline, as Docker mounts it.
	fromFile := func(c *authgear.Config) {
		c.WebhookPath = "/_authgear/webhook"
		c.WebhookSecretFile = "testdata/secrets/webhook"
	}
	tests := []struct {
		name, method, delivery, signature string // delivery: a recorded one, instead of signature and body
		asRecorded                        bool   // post the recorded delivery as it is, not as a new event stamped now
		edit                              func(*authgear.Config)
		body                              []byte
		want                              int
		evicts, unread, counts            bool // the named user is evicted; refused before any body byte is read; a 200 tells the counts
	}{
		{"recorded user.authenticated", "POST", "user.authenticated", "", false, withWebhook, nil, 200, true, false, true},
		{"recorded user.disabled", "POST", "user.disabled", "", false, withWebhook, nil, 200, true, false, true},
		{"recorded user.reenabled", "POST", "user.reenabled", "", false, withWebhook, nil, 200, true, false, true},
		{"recorded user.disabled as recorded, late", "POST", "user.disabled", "", true, withWebhook, nil, 200, true, false, false},
		{"the secret read from a file", "POST", "user.disabled", "", false, fromFile, nil, 200, true, false, true},
		{"the user named in the payload when the context has none", "POST", "", payloadOnlySignature, false, withWebhook, payloadOnly, 200, true, false, true},
		{"signed event without a user", "POST", "", noUserSignature, false, withWebhook, noUser, 200, false, false, true},
		{"wrong key", "POST", "", sign("another-secret", body), false, withWebhook, body, 401, false, false, false},
		{"changed byte", "POST", "", signature, false, withWebhook, changed, 401, false, false, false},
		{"missing signature", "POST", "", "", false, withWebhook, body, 401, false, true, false},
		{"not a signature's form", "POST", "", "not-a-signature", false, withWebhook, []byte(strings.Repeat("x", 100000)), 401, false, true, false},
		{"upper-case hex", "POST", "", strings.ToUpper(signature), false, withWebhook, body, 401, false, false, false},
		{"GET", "GET", "", signature, false, withWebhook, nil, 405, false, false, false},
		{"body over 1 MiB", "POST", "", sign(webhookSecret, big), false, withWebhook, big, 413, false, false, false},
		{"a signed 70 KB delivery (real ones are a few KiB)", "POST", "", sign(webhookSecret, padded), false, withWebhook, padded, 413, false, false, false},
		{"signed but not JSON", "POST", "", sign(webhookSecret, []byte("{oops")), false, withWebhook, []byte("{oops"), 400, false, false, false},
		{"without webhookPath, an ordinary path: the post goes on", "POST", "user.disabled", "", false, nil, nil, 200, false, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			signature, body := tt.signature, tt.body
			if tt.delivery != "" {
				signature, body = loadDelivery(t, tt.delivery)
				if got := sign(webhookSecret, body); got != signature {
					t.Fatalf("recorded signature %s, computed %s", signature, got)
				}
				if !tt.asRecorded {
					body, signature = restamp(t, body, newEventID(), time.Now())
				}
			}
			f := newFakeResolver(t)
			h, rec := newNamed(t, f, t.Name()+"/api", tt.edit)
			// A middleware of the same app with another policy, one of another app.
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
			case tt.want == 200 && tt.edit != nil && hasCounts(w.Body.String()) != tt.counts:
				t.Fatalf("answer %q; want counts in it: %v", w.Body.String(), tt.counts)
			}
			// Only the named user's entries in the app's cache are re-resolved:
			// the admin middleware shares it (its requests are hits), the
			// other app has its own and keeps it.
			requests()
			if got, want := f.calls.Load(), map[bool]int64{false: 7, true: 9}[tt.evicts]; got != want {
				t.Fatalf("resolver calls = %d, want %d", got, want)
			}
		})
	}
}

// A delivery posted again (a replay of a captured one, or Authgear's own
// retry) within the replay window is answered 200 and changes nothing: no
// eviction, no relay, and an answer that tells no counts.
func TestAReplayedDeliveryChangesNothing(t *testing.T) {
	peer, relays := countingPeer(t)
	f, h, rec := newHandler(t, func(c *authgear.Config) { withWebhook(c); withMetrics(c); c.WebhookPeers = []string{peer} })
	_, recorded := loadDelivery(t, "user.disabled")
	body, signature := restamp(t, recorded, newEventID(), time.Now())
	cached := func(calls int64) { // the user's next request makes calls resolver calls in all
		t.Helper()
		_, s := do(h, rec, request{header: bearer("fixture-user")})
		assertUser(t, s, "fixture-user")
		if got := f.calls.Load(); got != calls {
			t.Fatalf("resolver calls = %d, want %d", got, calls)
		}
	}
	cached(1)
	if w := postWebhook(h, "POST", signature, bytes.NewReader(body)); w.Code != http.StatusOK || !strings.Contains(w.Body.String(), "cached answers evicted; relayed to 1 of 1 peers") {
		t.Fatalf("delivery: %d %q", w.Code, w.Body.String())
	}
	cached(2) // re-resolved after the eviction
	w := postWebhook(h, "POST", signature, bytes.NewReader(body))
	cached(2) // still cached: the replay evicted nothing
	if w.Code != http.StatusOK || hasCounts(w.Body.String()) {
		t.Fatalf("replay: %d %q, want 200 without counts", w.Code, w.Body.String())
	}
	if n := relays.Load(); n != 1 {
		t.Fatalf("the peer received %d relays, want 1: the replay is not relayed", n)
	}
	_, metrics := scrape(h, "127.0.0.1:5555")
	for _, result := range []string{`"ok"} 1`, `"duplicate"} 1`} {
		if want := `authgear_webhook_deliveries_total{middleware="` + t.Name() + `",result=` + result + "\n"; !strings.Contains(metrics, want) {
			t.Errorf("metrics lack %q", want)
		}
	}
}

// A verified delivery whose context.timestamp is older than the replay
// window, missing, or too far ahead, or that has no id, is evicted locally
// (Authgear re-delivers with the original timestamp) but not relayed, and its
// answer tells no counts: it cannot be told from a replay.
func TestALateDeliveryIsEvictedHereOnly(t *testing.T) {
	_, recorded := loadDelivery(t, "user.disabled")
	now := time.Now()
	for _, tt := range []struct {
		name  string
		id    string // "" for none
		at    time.Time
		fresh bool
	}{
		{"a minute old: fresh", newEventID(), now.Add(-time.Minute), true},
		{"eleven minutes old", newEventID(), now.Add(-11 * time.Minute), false},
		{"a day old", newEventID(), now.Add(-24 * time.Hour), false},
		{"without context.timestamp", newEventID(), time.Time{}, false},
		{"two minutes ahead", newEventID(), now.Add(2 * time.Minute), false},
		{"without an id", "", now, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			peer, relays := countingPeer(t)
			f, h, rec := newHandler(t, func(c *authgear.Config) { withWebhook(c); withMetrics(c); c.WebhookPeers = []string{peer} })
			body, signature := restamp(t, recorded, tt.id, tt.at)
			do(h, rec, request{header: bearer("fixture-user")})
			w := postWebhook(h, "POST", signature, bytes.NewReader(body))
			if w.Code != http.StatusOK || hasCounts(w.Body.String()) != tt.fresh {
				t.Fatalf("delivery: %d %q; want 200, counts in the answer: %v", w.Code, w.Body.String(), tt.fresh)
			}
			_, s := do(h, rec, request{header: bearer("fixture-user")})
			assertUser(t, s, "fixture-user")
			if got := f.calls.Load(); got != 2 {
				t.Fatalf("resolver calls = %d, want 2: the delivery evicts locally", got)
			}
			if got, want := relays.Load(), map[bool]int64{false: 0, true: 1}[tt.fresh]; got != want {
				t.Fatalf("the peer received %d relays, want %d", got, want)
			}
			result := map[bool]string{false: "late", true: "ok"}[tt.fresh]
			_, metrics := scrape(h, "127.0.0.1:5555")
			if want := `authgear_webhook_deliveries_total{middleware="` + t.Name() + `",result="` + result + `"} 1` + "\n"; !strings.Contains(metrics, want) {
				t.Errorf("metrics lack %q", want)
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
