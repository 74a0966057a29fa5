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

var (
	execsLine   = regexp.MustCompile(`execs: (\d+)`)
	failingLine = regexp.MustCompile(`Failing input written to (\S+)`)
)

// runFuzz runs each fuzz target for a bounded time.
func runFuzz(o *options, _ *env, rep *report) error {
	for _, t := range fuzzTargets {
		fuzzCheck(rep, t, o.fuzzTime)
	}
	return nil
}

// fuzzCheck runs `go test -fuzz` on one target of the plugin package for
// fuzzTime and reports executions and crashes (a crash's input stays in
// testdata/fuzz/<target>/ for plain `go test`). A run that ends with
// "context deadline exceeded" and no failing input (the engine still
// minimizing when -fuzztime runs out, on a loaded machine) is tried again.
func fuzzCheck(rep *report, target string, fuzzTime time.Duration) {
	fmt.Printf("   go test -fuzz %s -fuzztime %s\n", target, fuzzTime)
	root, err := harness.RepoRoot()
	var tail string
	var execs int64
	for try := 0; err == nil && try < 2; try++ {
		ctx, cancel := context.WithTimeout(context.Background(), fuzzTime+5*time.Minute)
		cmd := exec.CommandContext(ctx, "go", "test", "-run", "^$", "-fuzz", "^"+target+"$", "-fuzztime", fuzzTime.String(), ".")
		cmd.Dir = root
		out, runErr := cmd.CombinedOutput()
		cancel()
		if m := execsLine.FindAllSubmatch(out, -1); len(m) > 0 {
			execs, _ = strconv.ParseInt(string(m[len(m)-1][1]), 10, 64)
		}
		lines := strings.Split(strings.TrimSpace(string(out)), "\n")
		if tail = strings.Join(lines[max(0, len(lines)-12):], "\n"); runErr == nil {
			break
		}
		err = fmt.Errorf("%w\n%s", runErr, tail)
		if try > 0 || failingLine.MatchString(tail) || !strings.Contains(tail, "context deadline exceeded") {
			break
		}
		fmt.Printf("   %s: the fuzzing engine timed out without a failing input; once more\n", target)
		err = nil
	}
	value := count(execs) + " execs, 0 crashes"
	if err != nil {
		fmt.Println(err)
		value = count(execs) + " execs, 1 crash"
		if m := failingLine.FindStringSubmatch(tail); m != nil {
			value += ", input " + m[1]
		}
	}
	rep.check("fuzz", target+" for "+fuzzTime.String(), value, "0 crashes", err == nil)
}
