package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/traefik-authgear/traefik-authgear/harness/internal/harness"
)

// proc is a child process (the stand-in, the echo backend, nginx), its
// output kept for error messages.
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

// stop sends SIGTERM and, if the process is still there after 5 s, kills it
// and its children (nginx's workers).
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

// startServers builds and starts the stand-in resolver (with the users file)
// and the echo backend, as processes of their own on free loopback ports.
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

// clockTick is the unit of utime and stime in /proc/PID/stat: USER_HZ, 100
// on every Linux that Go supports.
const clockTick = 10 * time.Millisecond

// statCPU returns utime+stime of a /proc/PID/stat line, counting the fields
// after the command name (which may hold spaces and parentheses).
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

// since returns the CPU time used between two readings by the processes of
// the later one (a process new since the earlier one counts in full).
func (after cpuTimes) since(before cpuTimes) time.Duration {
	var d time.Duration
	for pid, t := range after {
		d += t - before[pid]
	}
	return d
}

// treeCPU reads the CPU times of pid and its live direct children (nginx's
// workers; its cache loader exits a minute after start).
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

// withChildren returns pid and its direct children's PIDs, from
// /proc/PID/task/*/children (each thread lists the children it forked).
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
