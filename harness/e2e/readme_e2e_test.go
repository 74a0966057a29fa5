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

// Public example values in the README snippets, and what the tests put in
// their place.
const (
	exampleResolverURL = "https://myapp.authgear.cloud/_resolver/resolve"
	exampleBackendURL  = "http://127.0.0.1:3000"
	exampleAPIHost     = "api.example.com"
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

// snippetConfig is the dynamic configuration of a snippet: a file-provider
// snippet as it is, Docker labels converted (labelsConfig).
func snippetConfig(t *testing.T, snippet string) string {
	t.Helper()
	if strings.HasSuffix(snippet, ".txt") {
		return labelsConfig(t, snippet)
	}
	return readSnippet(t, snippet)
}

// startReadme runs Traefik with the README's static snippet and dynamic, in
// which exampleResolverURL becomes a stand-in whose public host is its own
// address (as when resolverURL is the app's public URL) and
// exampleBackendURL the stack's backend.
func startReadme(t *testing.T, dynamic string) (*stack.Stack, *stack.Resolver) {
	t.Helper()
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

// TestReadmeSnippets runs the README's static snippet with its file-provider
// snippet and its Docker labels. There is no Docker engine here: the labels
// are converted into a file-provider configuration in which every value is
// a string, which is what Traefik's label parser hands the plugin (see
// labels_test.go). Each row's request gets its status and identity; then
// the last row's credential is cached (cacheTTL 60s).
func TestReadmeSnippets(t *testing.T) {
	type row struct {
		headers []string
		status  int
		user    string
	}
	for _, tc := range []struct {
		snippet  string
		contains []string // what the configuration must say
		rows     []row
	}{
		{"file-provider.yml", nil, []row{
			{nil, 200, ""},
			{[]string{"Authorization", "Bearer bob-token", "X-Authgear-User-Id", "forged"}, 200, "bob"},
			{cookie("alice"), 200, "alice"},
		}},
		{"docker-labels.txt", []string{`cacheTTL: 60s`, `cacheMaxEntries: "5000"`, `requireSession: "true"`, `allowedRoles: admin,editor`}, []row{
			{nil, 401, ""},
			{cookie("carol"), 403, ""},
			{[]string{"Authorization", "Bearer alice-token"}, 200, "alice"},
			{cookie("bob"), 200, "bob"},
		}},
	} {
		t.Run(tc.snippet, func(t *testing.T) {
			dynamic := snippetConfig(t, tc.snippet)
			for _, want := range tc.contains {
				if !strings.Contains(dynamic, want) {
					t.Fatalf("the configuration lacks %s:\n%s", want, dynamic)
				}
			}
			s, r := startReadme(t, dynamic)
			for _, row := range tc.rows {
				got := get(t, s, "/", append([]string{"Host", exampleAPIHost}, row.headers...)...).wantStatus(t, row.status)
				if row.status == http.StatusOK {
					got.wantIdentity(t, identityOf(t, row.user))
				}
			}
			n := calls(r)
			last := tc.rows[len(tc.rows)-1]
			for i := 0; i < 3; i++ {
				get(t, s, "/", append([]string{"Host", exampleAPIHost}, last.headers...)...).wantStatus(t, http.StatusOK)
			}
			if n() != 0 {
				t.Errorf("cacheTTL 60s: %d resolver calls for a cached user, want 0", n())
			}
		})
	}
}

// labelsConfig converts a Docker-labels snippet into a dynamic configuration
// (every value a quoted string, see labels_test.go) in which each router
// sends to a service at exampleBackendURL, as Docker would send it to the
// labelled container.
func labelsConfig(t *testing.T, snippet string) string {
	t.Helper()
	labels, err := parseLabels(readSnippet(t, snippet))
	if err != nil {
		t.Fatal(err)
	}
	// Docker gives a container's router a service of its own; say so here.
	routers, err := lookup(labels, "http", "routers")
	if err != nil {
		t.Fatal(err)
	}
	for name := range routers.(map[string]any) {
		if err := setPath(labels, []string{"http", "routers", name, "service"}, "backend"); err != nil {
			t.Fatal(err)
		}
	}
	servers := []any{map[string]any{"url": exampleBackendURL}}
	if err := setPath(labels, []string{"http", "services", "backend", "loadBalancer", "servers"}, servers); err != nil {
		t.Fatal(err)
	}
	return emitYAML(labels)
}

// TestReadmeWebhook runs the README's webhook snippets (file provider and
// Docker labels) in Traefik: alice and bob are cached; a forged delivery
// changes nothing; a user.disabled delivery for bob, signed with the
// snippet's webhookSecret and sent through the API's own router, evicts bob
// and only bob; a GET on the webhook path is refused; and no request to the
// webhook path reaches the backend.
func TestReadmeWebhook(t *testing.T) {
	for _, snippet := range []string{"webhook-file-provider.yml", "webhook-docker-labels.txt"} {
		t.Run(snippet, func(t *testing.T) { testReadmeWebhook(t, snippetConfig(t, snippet)) })
	}
}

func testReadmeWebhook(t *testing.T, dynamic string) {
	const otherKey = "not-the-snippets-key"
	doc, err := parseYAML(dynamic)
	if err != nil {
		t.Fatal(err)
	}
	_, opts := dynamicPluginConfig(t, "dynamic configuration", doc)
	path, _ := opts["webhookPath"].(string)
	secret, _ := opts["webhookSecret"].(string)
	if path == "" || secret == "" || secret == otherKey {
		t.Fatalf("the snippet has no webhookPath or webhookSecret, or %s: %v", otherKey, opts)
	}
	s, r := startReadme(t, dynamic)
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
