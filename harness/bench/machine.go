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
	"sync"
	"syscall"
	"time"

	"github.com/traefik-authgear/traefik-authgear/harness/internal/harness"
)

// describeMachine names CPU, cores, RAM, kernel, Traefik, nginx, wrk and Go.
func describeMachine(ctx context.Context, traefikBin string) string {
	or := func(v, def string) string {
		if strings.Trim(v, " ()") == "" {
			return def
		}
		return v
	}
	traefik := commandOutput(ctx, traefikBin, "version")
	wrk := strings.Fields(firstLine(commandOutput(ctx, "wrk", "-v")))
	return fmt.Sprintf("%s. Traefik %s, nginx %s, %s; bench built with %s", harness.Machine(),
		or(harness.ProcField(traefik, "Version")+" ("+harness.ProcField(traefik, "Go version")+")", "unknown"),
		or(strings.TrimPrefix(firstLine(commandOutput(ctx, nginxBin, "-v")), "nginx version: "), "unknown"),
		or(strings.Join(wrk[:min(2, len(wrk))], " "), "unknown"), runtime.Version())
}

// commandOutput returns a command's output, whatever its exit status (wrk -v exits 1).
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

// findTools returns the Debian packages of wrk and nginx if missing.
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

// benchRE matches a result line: name without -GOMAXPROCS, ns/op, allocs/op.
var benchRE = regexp.MustCompile(`^(Benchmark\S+?)(?:-\d+)?\s+\d+\s+([\d.]+) ns/op(?:.*\s([\d.]+) allocs/op)?`)

// parseGoBench reads benchmark lines in order; a name seen twice keeps its last.
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

// microResult holds the plugin package's benchmarks, compiled and under Yaegi.
type microResult struct {
	compiled, yaegi []benchLine
	err             error // what could not be run (Yaegi with no network for the module proxy, say)
}

// yaegiBenchtime is fixed: Yaegi's benchmark loop does not scale b.N reliably.
const yaegiBenchtime = "20000x"

// runMicro runs the plugin's benchmarks; a failure goes into the report.
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

// proc is a child process (stand-in, echo backend, nginx) with its output.
type proc struct {
	addr   string // host:port a server listens on
	cmd    *exec.Cmd
	out    harness.TailBuffer
	exited chan struct{}
	once   sync.Once
}

// startProc starts bin with args and polls ready until it holds; it fails,
// stopping the process, when the process exits, ctx is done or 15 s pass.
func startProc(ctx context.Context, ready func(*proc) bool, name, bin string, args ...string) (*proc, error) {
	p := &proc{cmd: exec.Command(bin, args...), exited: make(chan struct{})}
	p.cmd.Stdout, p.cmd.Stderr, p.cmd.SysProcAttr = &p.out, &p.out, harness.SysProcAttr()
	if err := p.cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	go func() { _ = p.cmd.Wait(); close(p.exited) }()
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	for !ready(p) {
		select {
		case <-p.exited:
			return nil, fmt.Errorf("%s exited at start:\n%s", name, p.out.String())
		case <-ctx.Done():
			p.stop()
			return nil, fmt.Errorf("%s not ready (%w):\n%s", name, ctx.Err(), p.out.String())
		case <-time.After(20 * time.Millisecond):
		}
	}
	return p, nil
}

// stop sends SIGTERM, then after 5 s kills the process and its children.
func (p *proc) stop() {
	p.once.Do(func() {
		pids, _ := withChildren(p.cmd.Process.Pid)
		_ = p.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-p.exited:
		case <-time.After(5 * time.Second):
			for _, pid := range pids {
				_ = syscall.Kill(pid, syscall.SIGKILL)
			}
			<-p.exited
		}
	})
}

// startServers builds and starts the stand-in resolver and the echo backend.
func startServers(ctx context.Context, root, dir, users string, log io.Writer) (resolver, backend *proc, err error) {
	fmt.Fprintln(log, "bench: building the stand-in resolver and the echo backend")
	cmd := exec.CommandContext(ctx, "go", "build", "-o", dir+string(os.PathSeparator), "./cmd/standin-resolver", "./cmd/echo-backend")
	cmd.Dir = filepath.Join(root, "harness")
	if out, err := cmd.CombinedOutput(); err != nil {
		return nil, nil, fmt.Errorf("go build ./cmd/standin-resolver ./cmd/echo-backend: %v\n%s", err, out)
	}
	listening := func(p *proc) bool {
		_, rest, _ := strings.Cut(p.out.String(), "listening on http://")
		addr, _, ok := strings.Cut(rest, "\n")
		p.addr = strings.TrimSpace(addr)
		return ok
	}
	start := func(name string, args ...string) (*proc, error) {
		return startProc(ctx, listening, name, filepath.Join(dir, name), append([]string{"-addr", "127.0.0.1:0"}, args...)...)
	}
	if resolver, err = start("standin-resolver", "-users", users); err == nil {
		if backend, err = start("echo-backend"); err != nil {
			resolver.stop()
		}
	}
	return resolver, backend, err
}

// clockTick is USER_HZ, the unit of utime and stime in /proc/PID/stat.
const clockTick = 10 * time.Millisecond

// statCPU returns utime+stime of a /proc/PID/stat line, whose command name may hold ")".
func statCPU(stat string) (time.Duration, error) {
	f := strings.Fields(stat[strings.LastIndexByte(stat, ')')+1:]) // field 3 (state) first
	if len(f) < 13 {
		return 0, fmt.Errorf("short stat line %q", stat)
	}
	utime, err1 := strconv.ParseInt(f[11], 10, 64) // field 14
	stime, err2 := strconv.ParseInt(f[12], 10, 64) // field 15
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("bad utime/stime in stat line %q", stat)
	}
	return time.Duration(utime+stime) * clockTick, nil
}

// cpuTimes is the CPU time (user and system) used so far by each process.
type cpuTimes map[int]time.Duration

// since returns the CPU time used since before by after's processes (new ones in full).
func (after cpuTimes) since(before cpuTimes) time.Duration {
	var d time.Duration
	for pid, t := range after {
		d += t - before[pid]
	}
	return d
}

// treeCPU reads the CPU times of pid and its live children (nginx's workers).
func treeCPU(pid int) (cpuTimes, error) {
	pids, err := withChildren(pid)
	out := cpuTimes{}
	for i, p := range pids {
		data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", p))
		if i > 0 && os.IsNotExist(err) {
			continue
		}
		if err != nil {
			return nil, err
		}
		if out[p], err = statCPU(string(data)); err != nil {
			return nil, err
		}
	}
	return out, err
}

// withChildren returns pid and its children, from /proc/PID/task/*/children.
func withChildren(pid int) ([]int, error) {
	files, err := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/children", pid))
	out := []int{pid}
	for _, f := range files {
		data, _ := os.ReadFile(f) // a thread may have exited
		for _, field := range strings.Fields(string(data)) {
			child, err := strconv.Atoi(field)
			if err != nil {
				return nil, fmt.Errorf("%s: %q", f, data)
			}
			out = append(out, child)
		}
	}
	return out, err
}
