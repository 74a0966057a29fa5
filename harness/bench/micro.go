package main

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// benchLine is one line of `go test -bench -benchmem` output.
type benchLine struct {
	name        string // without the -GOMAXPROCS suffix
	nsPerOp     float64
	allocsPerOp float64
}

// benchRE matches a benchmark result line: the name without its -GOMAXPROCS
// suffix, ns/op and allocs/op (if printed).
var benchRE = regexp.MustCompile(`^(Benchmark\S+?)(?:-\d+)?\s+\d+\s+([\d.]+) ns/op(?:.*\s([\d.]+) allocs/op)?`)

// parseGoBench reads benchmark lines in order of appearance; a name seen
// twice keeps its last line.
func parseGoBench(out string) []benchLine {
	var lines []benchLine
	for line := range strings.Lines(out) {
		if m := benchRE.FindStringSubmatch(line); m != nil {
			b := benchLine{name: m[1]}
			b.nsPerOp, _ = strconv.ParseFloat(m[2], 64)
			b.allocsPerOp, _ = strconv.ParseFloat(m[3], 64)
			if i := slices.IndexFunc(lines, func(l benchLine) bool { return l.name == b.name }); i >= 0 {
				lines[i] = b
			} else {
				lines = append(lines, b)
			}
		}
	}
	return lines
}

// microResult holds the plugin package's benchmarks, compiled and under
// Yaegi.
type microResult struct {
	compiled, yaegi []benchLine
	err             error // what could not be run (Yaegi with no network for the module proxy, say)
}

// yaegiBenchtime is a fixed iteration count: Yaegi is about ten times slower
// and its benchmark loop does not scale b.N as reliably.
const yaegiBenchtime = "20000x"

// runMicro runs the plugin's benchmarks compiled and under Yaegi
// (tools/yaegi-test.sh); a failure goes into the report.
func runMicro(ctx context.Context, root string) *microResult {
	bench := func(argv ...string) ([]benchLine, error) {
		cmd := exec.CommandContext(ctx, argv[0], append(argv[1:], "-run", "^$", "-bench", ".", "-benchmem")...)
		cmd.Dir = root
		out, err := cmd.CombinedOutput()
		lines := parseGoBench(string(out))
		if err != nil || len(lines) == 0 {
			err = fmt.Errorf("%s printed no benchmark (%v): %s", strings.Join(argv, " "), err, lastLines(string(out), 5, " / "))
		}
		return lines, err
	}
	compiled, err1 := bench("go", "test", ".", "-count", "1")
	yaegi, err2 := bench(filepath.Join(root, "tools", "yaegi-test.sh"), "-benchtime", yaegiBenchtime)
	return &microResult{compiled, yaegi, errors.Join(err1, err2)}
}

// lastLines returns the last n lines of s, joined by sep.
func lastLines(s string, n int, sep string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], sep)
}
