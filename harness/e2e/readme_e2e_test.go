//go:build e2e

package e2e

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"maps"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/traefik-authgear/traefik-authgear/harness/examples"
	"github.com/traefik-authgear/traefik-authgear/harness/internal/harness"
	"github.com/traefik-authgear/traefik-authgear/harness/internal/stack"
)

// localPlugins is the README's static snippet under localPlugins, no version.
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

// startReadme runs Traefik with the static snippet and a file or labels
// snippet, exampleResolverURL replaced by a stand-in whose public host is its
// own address, exampleBackendURL by the stack's backend.
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

// TestReadmeSnippets runs each file and labels snippet (labels as in
// labelsConfig): each row's status and identity, then the last row's
// credential is cached (cacheTTL 60s). Webhook snippets: testReadmeWebhook.
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

// testReadmeWebhook: with alice and bob cached, forged deliveries and a GET
// change nothing, bob's signed user.disabled evicts only bob, and nothing on
// the webhook path reaches the backend.
func testReadmeWebhook(t *testing.T, s *stack.Stack, r *stack.Resolver, snippet string) {
	const otherKey = "not-the-snippets-key"
	_, _, opts := snippetPlugin(t, snippet)
	path, _ := opts["webhookPath"].(string)
	secret, _ := opts["webhookSecret"].(string)
	if path == "" || secret == "" || secret == otherKey {
		t.Fatalf("the snippet has no webhookPath or webhookSecret, or %s: %v", otherKey, opts)
	}
	n := calls(r)
	seen := func(when, user string, want int64) {
		t.Helper()
		get(t, s, "/orders", append(cookie(user), "Host", exampleAPIHost)...).wantStatus(t, http.StatusOK).wantIdentity(t, identityOf(t, user))
		if n() != want {
			t.Fatalf("%s, %s's request: %d resolver calls in all, want %d", when, user, n(), want)
		}
	}
	// webhook checks the middleware answered the request itself.
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

// userDisabledFor is the recorded user.disabled delivery's body for userID.
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
	_, body, _ := strings.Cut(string(data), "\n\n")
	if n := strings.Count(body, recordedUser); n != 2 {
		t.Fatalf("user.disabled.http names its user %d times, want 2 (payload.user.id, context.user_id)", n)
	}
	return strings.ReplaceAll(body, recordedUser, userID)
}

// sign returns body's X-Authgear-Body-Signature under secret.
func sign(secret, body string) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(body))
	return hex.EncodeToString(mac.Sum(nil))
}

// TestExamplesLoadInTraefik: every middleware of examples/, resolver pointed
// at the stand-in, loads in Traefik, admits alice and refuses no session.
func TestExamplesLoadInTraefik(t *testing.T) {
	all, err := examples.All()
	if err != nil {
		t.Fatal(err)
	}
	var mws []stack.Middleware
	for _, n := range slices.Sorted(maps.Keys(all)) {
		opts, err := examples.Ready(all[n], t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		delete(opts, "resolverURL") // the stack's stand-in
		delete(opts, "resolverHost")
		mws = append(mws, stack.Middleware{Name: "ex-" + strings.ReplaceAll(n, "/", "-"), Options: opts})
	}
	s := startT(t, stack.Options{Middlewares: mws})
	for _, mw := range mws {
		route := "/" + mw.Name + "/x"
		get(t, s, route, cookie("alice")...).wantStatus(t, http.StatusOK).wantIdentity(t, identityOf(t, "alice"))
		if rep := get(t, s, route); rep.status != http.StatusUnauthorized && rep.status != http.StatusFound {
			t.Errorf("%s without a session: %d, want the policy's 401 or 302", mw.Name, rep.status)
		}
	}
}

// TestDemoCheck: `go run ./cmd/demo -check` reports PASS for every example.
func TestDemoCheck(t *testing.T) {
	root, err := harness.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	addr, err := harness.FreeAddr()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "go", "run", "./cmd/demo", "-check")
	cmd.Dir = filepath.Join(root, "harness")
	cmd.Env = append(cmd.Environ(), "DEMO_ADDR="+addr, "AUTHGEAR_RESOLVER_URL=", "AUTHGEAR_HOST=")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("go run ./cmd/demo -check: %v\n%s", err, out)
	}
	if n := strings.Count(string(out), "PASS "); n < 6 || strings.Contains(string(out), "FAIL") {
		t.Errorf("demo -check output has %d PASS lines:\n%s", n, out)
	}
}
