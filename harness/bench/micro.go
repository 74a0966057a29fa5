package main

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"path/filepath"
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

// parseGoBench reads benchmark lines, in order of appearance; a name seen
// twice keeps its last line.
func parseGoBench(out string) []benchLine {
	var lines []benchLine
	for line := range strings.Lines(out) {
		f := strings.Fields(line)
		if len(f) < 4 || !strings.HasPrefix(f[0], "Benchmark") {
			continue
		}
		if _, err := strconv.ParseInt(f[1], 10, 64); err != nil {
			continue // not a result line
		}
		b := benchLine{name: trimProcs(f[0])}
		for i := 2; i+1 < len(f); i += 2 {
			v, _ := strconv.ParseFloat(f[i], 64)
			switch f[i+1] {
			case "ns/op":
				b.nsPerOp = v
			case "allocs/op":
				b.allocsPerOp = v
			}
		}
		if i := slices.IndexFunc(lines, func(l benchLine) bool { return l.name == b.name }); i >= 0 {
			lines[i] = b
		} else {
			lines = append(lines, b)
		}
	}
	return lines
}

// trimProcs drops a "-N" GOMAXPROCS suffix from a benchmark name.
func trimProcs(name string) string {
	i := strings.LastIndexByte(name, '-')
	if _, err := strconv.Atoi(name[i+1:]); i > 0 && err == nil {
		return name[:i]
	}
	return name
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
