package main

import (
	"context"
	"fmt"
	"os/exec"
	"regexp"
	"strings"
	"time"

	"github.com/traefik-authgear/traefik-authgear/harness/internal/harness"
)

// fuzzTargets are the plugin package's fuzz targets (fuzz_test.go).
var fuzzTargets = []string{"FuzzCredentialKey", "FuzzStripIdentityHeaders", "FuzzServeHTTP"}

// fuzzOutcome is what one bounded fuzz run found.
type fuzzOutcome struct {
	target  string
	execs   string // as go test printed it
	crashes int
	input   string // the failing input's file, when there is one
	output  string // the tail of go test's output, on failure
}

var (
	execsLine   = regexp.MustCompile(`execs: (\d+)`)
	failingLine = regexp.MustCompile(`Failing input written to (\S+)`)
)

// fuzzOnce runs `go test -fuzz` on one target of the plugin package for
// fuzzTime (plus the build, bounded by a few minutes). Go's fuzzing engine
// sometimes ends a run with "context deadline exceeded" and no failing input
// when -fuzztime runs out while a worker is still minimizing a new
// interesting input, on a loaded machine: that run is tried once more.
func fuzzOnce(target string, fuzzTime time.Duration) fuzzOutcome {
	out := fuzzRun(target, fuzzTime)
	if out.crashes != 0 && out.input == "" && strings.Contains(out.output, "context deadline exceeded") {
		fmt.Printf("   %s: the fuzzing engine timed out without a failing input; once more\n", target)
		out = fuzzRun(target, fuzzTime)
	}
	return out
}

// fuzzRun is one `go test -fuzz` run of fuzzOnce.
func fuzzRun(target string, fuzzTime time.Duration) fuzzOutcome {
	out := fuzzOutcome{target: target, execs: "0"}
	root, err := harness.RepoRoot()
	if err != nil {
		out.crashes, out.output = -1, err.Error()
		return out
	}
	ctx, cancel := context.WithTimeout(context.Background(), fuzzTime+5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "go", "test", "-run", "^$", "-fuzz", "^"+target+"$",
		"-fuzztime", fuzzTime.String(), ".")
	cmd.Dir = root
	b, err := cmd.CombinedOutput()
	text := string(b)
	if m := execsLine.FindAllStringSubmatch(text, -1); len(m) > 0 {
		out.execs = m[len(m)-1][1]
	}
	if err != nil {
		out.crashes = 1
		if m := failingLine.FindStringSubmatch(text); m != nil {
			out.input = m[1]
		}
		lines := strings.Split(strings.TrimSpace(text), "\n")
		if len(lines) > 12 {
			lines = lines[len(lines)-12:]
		}
		out.output = strings.Join(lines, "\n")
	}
	return out
}

// runFuzz runs each fuzz target for a bounded time and reports executions
// and crashes; a crash leaves its input in testdata/fuzz/<target>/, where
// plain `go test` replays it from then on.
func runFuzz(o *options, rep *report) error {
	const part = "fuzz"
	for _, t := range fuzzTargets {
		fmt.Printf("   go test -fuzz %s -fuzztime %s\n", t, o.fuzzTime)
		r := fuzzOnce(t, o.fuzzTime)
		value := fmt.Sprintf("%s execs, %d crashes", count(atoi64(r.execs)), r.crashes)
		if r.input != "" {
			value += ", input " + r.input
		}
		if r.crashes != 0 {
			fmt.Println(r.output)
		}
		rep.check(part, t+" for "+o.fuzzTime.String(), value, "0 crashes", r.crashes == 0)
	}
	return nil
}

func atoi64(s string) int64 {
	var n int64
	for _, c := range s {
		if c < '0' || c > '9' {
			return 0
		}
		n = n*10 + int64(c-'0')
	}
	return n
}
