//go:build e2e

package e2e

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/traefik-authgear/traefik-authgear/internal/harness"
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
// in which every value is a quoted string, which is what Traefik's label
// parser hands the plugin (see labels_test.go).
func TestReadmeDockerLabels(t *testing.T) {
	labels, err := parseLabels(readSnippet(t, "docker-labels.txt"))
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
	dynamic := emitYAML(labels)
	for _, want := range []string{`cacheTTL: "60s"`, `cacheMaxEntries: "5000"`, `requireSession: "true"`, `allowedRoles: "admin,editor"`} {
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
