package main

import (
	"context"
	"fmt"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/traefik-authgear/traefik-authgear/harness/internal/harness"
)

// fuzzTargets are the plugin package's fuzz targets (fuzz_test.go).
var fuzzTargets = []string{"FuzzCredentialKey", "FuzzStripIdentityHeaders", "FuzzServeHTTP"}

// fuzzOutcome is what one bounded fuzz run found.
type fuzzOutcome struct {
	execs   int64
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
func fuzzOnce(target string, fuzzTime time.Duration) (out fuzzOutcome) {
	root, err := harness.RepoRoot()
	if err != nil {
		return fuzzOutcome{crashes: -1, output: err.Error()}
	}
	for try := 0; try < 2; try++ {
		if try > 0 {
			fmt.Printf("   %s: the fuzzing engine timed out without a failing input; once more\n", target)
		}
		ctx, cancel := context.WithTimeout(context.Background(), fuzzTime+5*time.Minute)
		cmd := exec.CommandContext(ctx, "go", "test", "-run", "^$", "-fuzz", "^"+target+"$", "-fuzztime", fuzzTime.String(), ".")
		cmd.Dir = root
		b, err := cmd.CombinedOutput()
		cancel()
		text := string(b)
		out = fuzzOutcome{}
		if m := execsLine.FindAllStringSubmatch(text, -1); len(m) > 0 {
			out.execs, _ = strconv.ParseInt(m[len(m)-1][1], 10, 64)
		}
		if err == nil {
			return out
		}
		out.crashes = 1
		if m := failingLine.FindStringSubmatch(text); m != nil {
			out.input = m[1]
		}
		lines := strings.Split(strings.TrimSpace(text), "\n")
		out.output = strings.Join(lines[max(0, len(lines)-12):], "\n")
		if out.input != "" || !strings.Contains(out.output, "context deadline exceeded") {
			return out
		}
	}
	return out
}

// runFuzz runs each fuzz target for a bounded time and reports executions
// and crashes; a crash leaves its input in testdata/fuzz/<target>/, where
// plain `go test` replays it from then on.
func runFuzz(o *options, rep *report) error {
	for _, t := range fuzzTargets {
		fmt.Printf("   go test -fuzz %s -fuzztime %s\n", t, o.fuzzTime)
		r := fuzzOnce(t, o.fuzzTime)
		value := fmt.Sprintf("%s execs, %d crashes", count(r.execs), r.crashes)
		if r.input != "" {
			value += ", input " + r.input
		}
		if r.crashes != 0 {
			fmt.Println(r.output)
		}
		rep.check("fuzz", t+" for "+o.fuzzTime.String(), value, "0 crashes", r.crashes == 0)
	}
	return nil
}
