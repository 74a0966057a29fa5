package harness

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestCommitNamesWhatWasMeasured: outside git, "unknown"; at a commit, its
// short hash and subject; with a tracked file changed, that too.
func TestCommitNamesWhatWasMeasured(t *testing.T) {
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("no git")
	}
	ctx := context.Background()
	dir := t.TempDir()
	if got := Commit(ctx, dir); got != "unknown" {
		t.Errorf("outside a checkout: %q, want unknown", got)
	}
	run := func(args ...string) {
		t.Helper()
		cmd := exec.Command("git", append([]string{"-C", dir, "-c", "user.name=t", "-c", "user.email=t@example.test"}, args...)...)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
	}
	file := filepath.Join(dir, "cache.go")
	if err := os.WriteFile(file, []byte("package authgear\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	run("init", "-q")
	run("add", "cache.go")
	run("commit", "-q", "-m", "cache: a subject")
	if got := Commit(ctx, dir); !regexp.MustCompile(`^[0-9a-f]{7,} \(cache: a subject\)$`).MatchString(got) {
		t.Errorf("at a commit: %q, want its short hash and subject", got)
	}
	if err := os.WriteFile(file, []byte("package authgear // changed\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if got := Commit(ctx, dir); !strings.HasSuffix(got, " (cache: a subject) + uncommitted changes") {
		t.Errorf("with a tracked file changed: %q", got)
	}
}

// TestMachineNamesCoresAndMemory: the description has the figures a
// report's reader compares runs by.
func TestMachineNamesCoresAndMemory(t *testing.T) {
	if got := Machine(); !regexp.MustCompile(`^.+ × \d+ cores, .+ RAM, Linux .+$`).MatchString(got) {
		t.Errorf("Machine() = %q", got)
	}
	if got := ProcField("processor\t: 0\nmodel name\t: AMD EPYC\n", "model name"); got != "AMD EPYC" {
		t.Errorf("ProcField = %q", got)
	}
}
