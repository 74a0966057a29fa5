package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"
)

// describeMachine says where the benchmark runs: CPU, cores, RAM, kernel,
// Traefik, nginx, wrk and Go versions ("unknown" when unreadable).
func describeMachine(ctx context.Context, traefikBin string) string {
	or := func(v, def string) string {
		if strings.Trim(v, " ()") == "" {
			return def
		}
		return v
	}
	read := func(path string) string { data, _ := os.ReadFile(path); return string(data) }
	memory := "unknown"
	if kb, err := strconv.ParseInt(strings.TrimSuffix(procField(read("/proc/meminfo"), "MemTotal"), " kB"), 10, 64); err == nil {
		memory = fmt.Sprintf("%.1f GiB", float64(kb)/(1024*1024))
	}
	traefik := commandOutput(ctx, traefikBin, "version")
	wrk := strings.Fields(firstLine(commandOutput(ctx, "wrk", "-v")))
	return fmt.Sprintf("%s × %d cores, %s RAM, Linux %s. Traefik %s, nginx %s, %s; bench built with %s",
		or(procField(read("/proc/cpuinfo"), "model name"), "unknown CPU"), runtime.NumCPU(), memory,
		or(strings.TrimSpace(read("/proc/sys/kernel/osrelease")), "unknown"),
		or(procField(traefik, "Version")+" ("+procField(traefik, "Go version")+")", "unknown"),
		or(strings.TrimPrefix(firstLine(commandOutput(ctx, nginxBin, "-v")), "nginx version: "), "unknown"),
		or(strings.Join(wrk[:min(2, len(wrk))], " "), "unknown"), runtime.Version())
}

// procField returns the value of the first "name: value" line (tabs and
// spaces around the colon allowed), as in /proc/cpuinfo and `traefik version`.
func procField(text, name string) string {
	for line := range strings.Lines(text) {
		if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == name {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

// commandOutput runs a command for at most 10 s and returns its stdout and
// stderr, whatever its exit status (wrk -v exits 1).
func commandOutput(ctx context.Context, name string, args ...string) string {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	out, _ := exec.CommandContext(ctx, name, args...).CombinedOutput()
	return string(out)
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(strings.TrimSpace(s), "\n")
	return strings.TrimSpace(line)
}

// loadAverage returns the 1-minute load average, "unknown" when unreadable.
func loadAverage() string {
	data, _ := os.ReadFile("/proc/loadavg")
	if f := strings.Fields(string(data)); len(f) > 0 {
		return f[0]
	}
	return "unknown"
}

// nginxBin is the nginx executable; /usr/sbin is not on every PATH.
var nginxBin = "nginx"

// findTools looks for wrk and nginx and returns the Debian packages of
// those missing.
func findTools() (missing []string) {
	if _, err := exec.LookPath("wrk"); err != nil {
		missing = append(missing, "wrk")
	}
	if p, err := exec.LookPath("nginx"); err == nil {
		nginxBin = p
	} else if st, err := os.Stat("/usr/sbin/nginx"); err == nil && !st.IsDir() {
		nginxBin = "/usr/sbin/nginx"
	} else {
		missing = append(missing, "nginx-light")
	}
	return missing
}

// ensureTools installs missing wrk and nginx with apt-get (nginx-light, or
// nginx where it is gone), and checks nginx's auth_request module.
func ensureTools(ctx context.Context, log io.Writer) error {
	if missing := findTools(); len(missing) > 0 {
		var sudo []string
		if os.Geteuid() != 0 {
			sudo = []string{"sudo", "-E"}
		}
		apt := func(args ...string) error {
			full := append(append(sudo, "apt-get"), args...)
			fmt.Fprintf(log, "bench: %s\n", strings.Join(full, " "))
			cmd := exec.CommandContext(ctx, full[0], full[1:]...)
			cmd.Env = append(os.Environ(), "DEBIAN_FRONTEND=noninteractive")
			cmd.Stdout, cmd.Stderr = log, log
			return cmd.Run()
		}
		err := apt("update", "-qq")
		if err == nil && apt(append([]string{"install", "-y", "-qq"}, missing...)...) != nil {
			alt := strings.Fields(strings.ReplaceAll(strings.Join(missing, " "), "nginx-light", "nginx"))
			err = apt(append([]string{"install", "-y", "-qq"}, alt...)...)
		}
		if missing = findTools(); err != nil || len(missing) > 0 {
			return fmt.Errorf("%s missing, and apt-get could not install them (%v): install them and run again", strings.Join(missing, " and "), err)
		}
	}
	if out := commandOutput(ctx, nginxBin, "-V"); !strings.Contains(out, "http_auth_request_module") {
		return fmt.Errorf("%s has no auth_request module (nginx -V: %s)", nginxBin, firstLine(out))
	}
	return nil
}

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
