//go:build e2e

package e2e

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/traefik-authgear/traefik-authgear/harness/internal/harness"
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
	static := readSnippet(t, "static.yml")
	var out []string
	for _, line := range strings.Split(static, "\n") {
		switch strings.TrimSpace(line) {
		case "plugins:":
			line = strings.Replace(line, "plugins:", "localPlugins:", 1)
		default:
			if strings.HasPrefix(strings.TrimSpace(line), "version:") {
				continue
			}
		}
		out = append(out, line)
	}
	return strings.Join(out, "\n")
}

// startReadmeEnv runs Traefik with the README's static snippet and the given
// dynamic configuration, a stand-in resolver whose public host is its own
// address (as when resolverURL is the app's public URL), and the echo backend.
// exampleResolverURL and exampleBackendURL in dynamic are replaced with them.
func startReadmeEnv(t *testing.T, dynamic string) (*env, *resolver) {
	t.Helper()
	r, err := newResolver("", "")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(r.close)
	e := &env{backend: newBackend(), resolvers: map[string]*resolver{"auth": r}, client: newClient()}
	t.Cleanup(e.backend.srv.Close)
	dynamic = strings.NewReplacer(exampleResolverURL, r.URL, exampleBackendURL, e.backend.srv.URL).Replace(dynamic)
	e.traefik, err = harness.Start(context.Background(), harness.Options{
		Dynamic:      dynamic,
		Experimental: localPlugins(t),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.traefik.Stop() })
	err = e.traefik.WaitRequest(func() *http.Request {
		req, _ := http.NewRequest(http.MethodGet, e.traefik.URL+"/", nil)
		req.Host = exampleAPIHost
		return req
	}, 30*time.Second)
	if err != nil {
		t.Fatalf("%v\ndynamic configuration:\n%s", err, dynamic)
	}
	return e, r
}

// TestReadmeFileProvider runs the README's static and file-provider snippets.
func TestReadmeFileProvider(t *testing.T) {
	e, r := startReadmeEnv(t, readSnippet(t, "file-provider.yml"))
	host := []string{"Host", exampleAPIHost}
	e.get(t, "/", host...).wantStatus(t, http.StatusOK).wantIdentity(t, noIdentity)
	n := calls(r)
	for i := 0; i < 3; i++ {
		e.get(t, "/", append(host, "Cookie", "session=alice-session")...).wantStatus(t, http.StatusOK).wantIdentity(t, identityOf(t, "alice"))
	}
	if n() != 1 {
		t.Errorf("cacheTTL 60s: %d resolver calls for 3 requests, want 1", n())
	}
	e.get(t, "/", append(host, "Authorization", "Bearer bob-token", "X-Authgear-User-Id", "forged")...).
		wantStatus(t, http.StatusOK).wantIdentity(t, identityOf(t, "bob"))
}

// TestReadmeDockerLabels runs the README's Docker labels. There is no Docker
// engine here: the labels are converted into a file-provider configuration
// in which every value is a string, which is what Traefik's label
// parser hands the plugin (see labels_test.go).
func TestReadmeDockerLabels(t *testing.T) {
	dynamic := labelsConfig(t, "docker-labels.txt")
	for _, want := range []string{`cacheTTL: 60s`, `cacheMaxEntries: "5000"`, `requireSession: "true"`, `allowedRoles: admin,editor`} {
		if !strings.Contains(dynamic, want) {
			t.Fatalf("converted labels lack %s:\n%s", want, dynamic)
		}
	}
	e, r := startReadmeEnv(t, dynamic)

	host := []string{"Host", exampleAPIHost}
	for _, tc := range []struct {
		name    string
		headers []string
		status  int
		user    string
	}{
		{"no session", nil, 401, ""},
		{"carol, no role", []string{"Cookie", "session=carol-session"}, 403, ""},
		{"bob, editor", []string{"Cookie", "session=bob-session"}, 200, "bob"},
		{"alice, admin", []string{"Authorization", "Bearer alice-token"}, 200, "alice"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := e.get(t, "/", append(host, tc.headers...)...).wantStatus(t, tc.status)
			if tc.status == http.StatusOK {
				got.wantIdentity(t, identityOf(t, tc.user))
			}
		})
	}
	n := calls(r)
	for i := 0; i < 3; i++ {
		e.get(t, "/", append(host, "Cookie", "session=bob-session")...).wantStatus(t, http.StatusOK)
	}
	if n() != 0 {
		t.Errorf("cacheTTL \"60s\": %d resolver calls for a cached user, want 0", n())
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
	for _, tc := range []struct {
		snippet string
		dynamic func(t *testing.T) string
	}{
		{"webhook-file-provider.yml", func(t *testing.T) string { return readSnippet(t, "webhook-file-provider.yml") }},
		{"webhook-docker-labels.txt", func(t *testing.T) string { return labelsConfig(t, "webhook-docker-labels.txt") }},
	} {
		t.Run(tc.snippet, func(t *testing.T) { testReadmeWebhook(t, tc.dynamic(t)) })
	}
}

func testReadmeWebhook(t *testing.T, dynamic string) {
	doc, err := parseYAML(dynamic)
	if err != nil {
		t.Fatal(err)
	}
	_, opts := dynamicPluginConfig(t, "dynamic configuration", doc)
	path, _ := opts["webhookPath"].(string)
	secret, _ := opts["webhookSecret"].(string)
	if path == "" || secret == "" {
		t.Fatalf("the snippet has no webhookPath or webhookSecret: %v", opts)
	}
	if secret == webhookSecret {
		t.Fatal("the snippet's webhookSecret is the fixtures' key; the forged delivery below needs another")
	}
	e, r := startReadmeEnv(t, dynamic)
	alice := []string{"Host", exampleAPIHost, "Cookie", "session=alice-session"}
	bob := []string{"Host", exampleAPIHost, "Cookie", "session=bob-session"}

	n := calls(r)
	for i := 0; i < 2; i++ {
		e.get(t, "/orders", alice...).wantStatus(t, http.StatusOK).wantIdentity(t, identityOf(t, "alice"))
		e.get(t, "/orders", bob...).wantStatus(t, http.StatusOK).wantIdentity(t, identityOf(t, "bob"))
	}
	if n() != 2 {
		t.Fatalf("%d resolver calls for alice and bob twice each, want 2", n())
	}
	// cached checks that alice's and bob's next requests make want resolver
	// calls in all (since n was made).
	cached := func(when string, want int64) {
		t.Helper()
		e.get(t, "/orders", alice...).wantStatus(t, http.StatusOK).wantIdentity(t, identityOf(t, "alice"))
		e.get(t, "/orders", bob...).wantStatus(t, http.StatusOK).wantIdentity(t, identityOf(t, "bob"))
		if n() != want {
			t.Fatalf("%s: %d resolver calls, want %d", when, n(), want)
		}
	}
	// webhook sends a request to the webhook path and checks the middleware
	// answered it itself: the backend saw nothing.
	webhook := func(what, method, body, signature string, status int) reply {
		t.Helper()
		hits := e.backend.hits.Load()
		headers := []string{"Host", exampleAPIHost, "Content-Type", "application/json"}
		if signature != "" {
			headers = append(headers, "X-Authgear-Body-Signature", signature)
		}
		got := e.request(t, method, path, body, headers...)
		if got.status != status || got.echo != nil || e.backend.hits.Load() != hits {
			b := got.body
			if len(b) > 200 {
				b = b[:200] + "..."
			}
			t.Fatalf("%s: %d %q (backend reached: %v), want %d from the middleware",
				what, got.status, b, e.backend.hits.Load() != hits, status)
		}
		return got
	}

	body := userDisabledFor(t, users["bob"].ID)
	webhook("forged delivery (signed with another key)", http.MethodPost, body, sign(webhookSecret, body), http.StatusUnauthorized)
	webhook("unsigned delivery", http.MethodPost, body, "", http.StatusUnauthorized)
	webhook("alice's user.disabled with the signature of bob's", http.MethodPost,
		userDisabledFor(t, users["alice"].ID), sign(secret, body), http.StatusUnauthorized)
	cached("after the forged deliveries", 2)

	got := webhook("GET on the webhook path", http.MethodGet, "", "", http.StatusMethodNotAllowed)
	if allow := got.header.Get("Allow"); allow != http.MethodPost {
		t.Errorf("GET on the webhook path: Allow %q, want POST", allow)
	}
	cached("after the GET", 2)

	webhook("user.disabled for bob", http.MethodPost, body, sign(secret, body), http.StatusOK)
	e.get(t, "/orders", alice...).wantStatus(t, http.StatusOK).wantIdentity(t, identityOf(t, "alice"))
	if n() != 2 {
		t.Fatalf("after bob's eviction alice made a resolver call: %d calls, want 2", n())
	}
	e.get(t, "/orders", bob...).wantStatus(t, http.StatusOK).wantIdentity(t, identityOf(t, "bob"))
	if n() != 3 {
		t.Fatalf("after bob's eviction: %d resolver calls, want 3 (bob's request reaches the resolver)", n())
	}
	cached("bob cached again", 3)
}

// userDisabledFor returns the body of the recorded user.disabled delivery
// (testdata/fixtures/webhook/user.disabled.http) with the user it names
// replaced by userID.
func userDisabledFor(t *testing.T, userID string) string {
	t.Helper()
	const recordedUser = "ae9dd108-048e-4576-86ca-2c69bcd2ad08"
	_, body := readDelivery(t, "user.disabled.http")
	if n := strings.Count(string(body), recordedUser); n != 2 {
		t.Fatalf("user.disabled.http names its user %d times, want 2 (payload.user.id, context.user_id)", n)
	}
	return strings.ReplaceAll(string(body), recordedUser, userID)
}

// sign returns the X-Authgear-Body-Signature of body under secret: the
// lowercase hex HMAC-SHA256 of the raw body.
func sign(secret, body string) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(body))
	return hex.EncodeToString(mac.Sum(nil))
}
