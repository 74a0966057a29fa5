//go:build e2e

package e2e

import (
	"context"
	"maps"
	"net/http"
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
