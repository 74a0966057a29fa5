package main

import (
	"bufio"
	"context"
	"fmt"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
)

// benchLine is one line of `go test -bench -benchmem` output.
type benchLine struct {
	name        string // without the -GOMAXPROCS suffix
	nsPerOp     float64
	bytesPerOp  float64
	allocsPerOp float64
}

// parseGoBench reads benchmark lines, in order of appearance; a name seen
// twice keeps its last line.
func parseGoBench(out string) []benchLine {
	var lines []benchLine
	index := map[string]int{}
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 4 || !strings.HasPrefix(f[0], "Benchmark") {
			continue
		}
		if _, err := strconv.ParseInt(f[1], 10, 64); err != nil {
			continue // not a result line
		}
		b := benchLine{name: trimProcs(f[0])}
		for i := 2; i+1 < len(f); i += 2 {
			v, err := strconv.ParseFloat(f[i], 64)
			if err != nil {
				continue
			}
			switch f[i+1] {
			case "ns/op":
				b.nsPerOp = v
			case "B/op":
				b.bytesPerOp = v
			case "allocs/op":
				b.allocsPerOp = v
			}
		}
		if i, ok := index[b.name]; ok {
			lines[i] = b
			continue
		}
		index[b.name] = len(lines)
		lines = append(lines, b)
	}
	return lines
}

// trimProcs drops a "-N" GOMAXPROCS suffix from a benchmark name.
func trimProcs(name string) string {
	if i := strings.LastIndexByte(name, '-'); i > 0 {
		if _, err := strconv.Atoi(name[i+1:]); err == nil {
			return name[:i]
		}
	}
	return name
}

// microResult holds the plugin package's benchmarks, compiled and under
// Yaegi.
type microResult struct {
	compiled []benchLine
	yaegi    []benchLine
	yaegiErr error // Yaegi could not be run (no network for the module proxy, say)
}

// yaegiBenchtime is a fixed iteration count: Yaegi is about ten times slower
// and its benchmark loop does not scale b.N as reliably.
const yaegiBenchtime = "20000x"

// runMicro runs the plugin package's benchmarks (bench_test.go) compiled,
// then under Yaegi v0.16.1 with tools/yaegi-test.sh.
func runMicro(ctx context.Context, root string) (microResult, error) {
	var res microResult
	cmd := exec.CommandContext(ctx, "go", "test", "-run", "^$", "-bench", ".", "-benchmem", "-count", "1", ".")
	cmd.Dir = root
	out, err := cmd.CombinedOutput()
	if err != nil {
		return res, fmt.Errorf("go test -bench . (compiled): %v\n%s", err, out)
	}
	if res.compiled = parseGoBench(string(out)); len(res.compiled) == 0 {
		return res, fmt.Errorf("go test -bench . printed no benchmark:\n%s", out)
	}
	cmd = exec.CommandContext(ctx, filepath.Join(root, "tools", "yaegi-test.sh"),
		"-run", "^$", "-bench", ".", "-benchmem", "-benchtime", yaegiBenchtime)
	cmd.Dir = root
	out, err = cmd.CombinedOutput()
	if ctx.Err() != nil {
		return res, ctx.Err()
	}
	if err != nil {
		res.yaegiErr = fmt.Errorf("tools/yaegi-test.sh -bench .: %v: %s", err, lastLines(string(out), 5))
	} else if res.yaegi = parseGoBench(string(out)); len(res.yaegi) == 0 {
		res.yaegiErr = fmt.Errorf("tools/yaegi-test.sh -bench . printed no benchmark: %s", lastLines(string(out), 5))
	}
	return res, nil
}

// lastLines returns the last n lines of s, joined by " / ".
func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, " / ")
}
