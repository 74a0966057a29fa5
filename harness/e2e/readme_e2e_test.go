//go:build e2e

package e2e

import (
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
	"github.com/traefik-authgear/traefik-authgear/harness/internal/stack"
)

// localPlugins turns the README's static snippet (experimental.plugins, which
// downloads the plugin from the catalog) into the local form the tests use:
// the same name and module under experimental.localPlugins, without version.
func localPlugins(t *testing.T) string {
	t.Helper()
	var out []string
	for _, line := range strings.Split(readSnippet(t, "static.yml"), "\n") {
		if strings.HasPrefix(strings.TrimSpace(line), "version:") {
			continue
		}
		out = append(out, strings.Replace(line, "plugins:", "localPlugins:", 1))
	}
	return strings.Join(out, "\n")
}

// startReadme runs Traefik with the README's static snippet and a
// file-provider or Docker-labels (.txt, see labelsConfig) snippet, in which
// exampleResolverURL becomes a stand-in whose public host is its own address
// (as when resolverURL is the app's public URL) and exampleBackendURL the
// stack's backend.
func startReadme(t *testing.T, snippet string) (*stack.Stack, *stack.Resolver) {
	t.Helper()
	dynamic := readSnippet(t, snippet)
	if strings.HasSuffix(snippet, ".txt") {
		dynamic = labelsConfig(t, snippet)
	}
	s := startT(t, stack.Options{Traefik: harness.Options{Experimental: localPlugins(t)}})
	cfg, err := stack.Users()
	if err != nil {
		t.Fatal(err)
	}
	r, err := stack.StartPublicResolver(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(r.Close)
	dynamic = strings.NewReplacer(exampleResolverURL, r.URL, exampleBackendURL, s.Backend.URL).Replace(dynamic)
	if err := s.Traefik.WriteDynamic(dynamic); err != nil {
		t.Fatal(err)
	}
	err = s.Traefik.WaitRequest(func() *http.Request {
		req, _ := http.NewRequest(http.MethodGet, s.URL("/"), nil)
		req.Host = exampleAPIHost
		return req
	}, 30*time.Second)
	if err != nil {
		t.Fatalf("%v\ndynamic configuration:\n%s", err, dynamic)
	}
	return s, r
}

// TestReadmeSnippets runs the README's static snippet with each of its
// file-provider and Docker-labels snippets. There is no Docker engine here:
// the labels are converted into a file-provider configuration in which every
// value is a string, which is what Traefik's label parser hands the plugin
// (see labels_test.go). Each row's request gets its status and identity;
// then the last row's credential is cached (cacheTTL 60s). The webhook
// snippets run testReadmeWebhook.
func TestReadmeSnippets(t *testing.T) {
	type row struct {
		headers []string
		status  int
		user    string
	}
	for snippet, rows := range map[string][]row{
		"file-provider.yml": {
			{nil, 200, ""},
			{[]string{"Authorization", "Bearer bob-token", "X-Authgear-User-Id", "forged"}, 200, "bob"},
			{cookie("alice"), 200, "alice"},
		},
		"docker-labels.txt": {
			{nil, 401, ""},
			{cookie("carol"), 403, ""},
			{[]string{"Authorization", "Bearer alice-token"}, 200, "alice"},
			{cookie("bob"), 200, "bob"},
		},
		"webhook-file-provider.yml": nil,
		"webhook-docker-labels.txt": nil,
	} {
		t.Run(snippet, func(t *testing.T) {
			s, r := startReadme(t, snippet)
			if rows == nil {
				testReadmeWebhook(t, s, r, snippet)
				return
			}
			for _, row := range rows {
				got := get(t, s, "/", append([]string{"Host", exampleAPIHost}, row.headers...)...).wantStatus(t, row.status)
				if row.status == http.StatusOK {
					got.wantIdentity(t, identityOf(t, row.user))
				}
			}
			n := calls(r)
			for i := 0; i < 3; i++ {
				get(t, s, "/", append([]string{"Host", exampleAPIHost}, rows[len(rows)-1].headers...)...).wantStatus(t, http.StatusOK)
			}
			if n() != 0 {
				t.Errorf("cacheTTL 60s: %d resolver calls for a cached user, want 0", n())
			}
		})
	}
}

// testReadmeWebhook: alice and bob are cached; a forged delivery changes
// nothing; a user.disabled delivery for bob, signed with the snippet's
// webhookSecret and sent through the API's own router, evicts bob and only
// bob; a GET on the webhook path is refused; and no request to the webhook
// path reaches the backend.
func testReadmeWebhook(t *testing.T, s *stack.Stack, r *stack.Resolver, snippet string) {
	const otherKey = "not-the-snippets-key"
	_, _, opts := snippetPlugin(t, snippet)
	path, _ := opts["webhookPath"].(string)
	secret, _ := opts["webhookSecret"].(string)
	if path == "" || secret == "" || secret == otherKey {
		t.Fatalf("the snippet has no webhookPath or webhookSecret, or %s: %v", otherKey, opts)
	}
	n := calls(r)
	// seen sends the user's request and checks the resolver calls in all.
	seen := func(when, user string, want int64) {
		t.Helper()
		get(t, s, "/orders", append(cookie(user), "Host", exampleAPIHost)...).wantStatus(t, http.StatusOK).wantIdentity(t, identityOf(t, user))
		if n() != want {
			t.Fatalf("%s, %s's request: %d resolver calls in all, want %d", when, user, n(), want)
		}
	}
	// webhook sends a request to the webhook path and checks the middleware
	// answered it itself: the backend saw nothing.
	webhook := func(what, method, body, signature string, status int) reply {
		t.Helper()
		hits := s.Backend.Hits.Load()
		headers := []string{"Host", exampleAPIHost, "Content-Type", "application/json"}
		if signature != "" {
			headers = append(headers, "X-Authgear-Body-Signature", signature)
		}
		got := request(t, s, method, path, body, headers...)
		if got.status != status || got.echo != nil || s.Backend.Hits.Load() != hits {
			t.Fatalf("%s: %d %.200q (backend reached: %v), want %d from the middleware",
				what, got.status, got.body, s.Backend.Hits.Load() != hits, status)
		}
		return got
	}

	for i, user := range []string{"alice", "bob", "alice", "bob"} {
		seen("first requests", user, int64(min(i+1, 2)))
	}
	body := userDisabledFor(t, users["bob"].ID)
	webhook("forged delivery (signed with another key)", http.MethodPost, body, sign(otherKey, body), http.StatusUnauthorized)
	webhook("unsigned delivery", http.MethodPost, body, "", http.StatusUnauthorized)
	webhook("alice's user.disabled with the signature of bob's", http.MethodPost,
		userDisabledFor(t, users["alice"].ID), sign(secret, body), http.StatusUnauthorized)
	seen("after the forged deliveries", "alice", 2)
	seen("after the forged deliveries", "bob", 2)

	if allow := webhook("GET on the webhook path", http.MethodGet, "", "", http.StatusMethodNotAllowed).header.Get("Allow"); allow != http.MethodPost {
		t.Errorf("GET on the webhook path: Allow %q, want POST", allow)
	}
	seen("after the GET", "bob", 2)

	webhook("user.disabled for bob", http.MethodPost, body, sign(secret, body), http.StatusOK)
	seen("after bob's eviction", "alice", 2)
	seen("after bob's eviction", "bob", 3)
	seen("bob cached again", "bob", 3)
}

// userDisabledFor returns the body of the recorded user.disabled delivery
// (testdata/fixtures/webhook/user.disabled.http) with the user it names
// replaced by userID.
func userDisabledFor(t *testing.T, userID string) string {
	t.Helper()
	const recordedUser = "ae9dd108-048e-4576-86ca-2c69bcd2ad08"
	root, err := harness.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(filepath.Join(root, "testdata", "fixtures", "webhook", "user.disabled.http"))
	if err != nil {
		t.Fatal(err)
	}
	// The recording is "request line, headers, blank line, body".
	_, body, _ := strings.Cut(string(data), "\n\n")
	if n := strings.Count(body, recordedUser); n != 2 {
		t.Fatalf("user.disabled.http names its user %d times, want 2 (payload.user.id, context.user_id)", n)
	}
	return strings.ReplaceAll(body, recordedUser, userID)
}

// sign returns the X-Authgear-Body-Signature of body under secret: the
// lowercase hex HMAC-SHA256 of the raw body.
func sign(secret, body string) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(body))
	return hex.EncodeToString(mac.Sum(nil))
}
