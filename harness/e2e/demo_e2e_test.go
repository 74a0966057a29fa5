//go:build e2e

package e2e

import (
	"context"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/traefik-authgear/traefik-authgear/harness/internal/harness"
)

// TestDemoCheck runs the demo as the README's `make demo` does, in its
// -check mode: it starts everything, runs the curl examples it prints, and
// must report PASS for each.
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
