package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/traefik-authgear/traefik-authgear/harness/internal/harness"
)

// proc is a child process of the benchmark (the stand-in resolver and the
// echo backend, so that their CPU time is neither the benchmark's nor the
// proxy's; nginx), its output kept for error messages.
type proc struct {
	name   string
	addr   string // host:port a server listens on
	cmd    *exec.Cmd
	out    harness.TailBuffer
	exited chan struct{}
	once   sync.Once
}

// startProc starts bin with args.
func startProc(name, bin string, args ...string) (*proc, error) {
	p := &proc{name: name, cmd: exec.Command(bin, args...), exited: make(chan struct{})}
	p.cmd.Stdout, p.cmd.Stderr = &p.out, &p.out
	p.cmd.SysProcAttr = sysProcAttr()
	if err := p.cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	go func() {
		_ = p.cmd.Wait()
		close(p.exited)
	}()
	return p, nil
}

// waitFor polls ready until it holds, and fails (stopping the process) when
// the process exits, ctx is done or 15 s have passed.
func (p *proc) waitFor(ctx context.Context, what string, ready func() bool) error {
	deadline := time.Now().Add(15 * time.Second)
	for !ready() {
		select {
		case <-p.exited:
			return fmt.Errorf("%s exited at start:\n%s", p.name, p.out.String())
		case <-ctx.Done():
			p.stop()
			return ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			p.stop()
			return fmt.Errorf("%s: %s not within 15 s:\n%s", p.name, what, p.out.String())
		}
	}
	return nil
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

// startServers builds ./cmd/standin-resolver and ./cmd/echo-backend into
// dir, runs them on free loopback ports (the stand-in with the users file)
// and waits for their "listening on http://ADDR" lines.
func startServers(ctx context.Context, root, dir, users string, log io.Writer) (resolver, backend *proc, err error) {
	fmt.Fprintln(log, "bench: building the stand-in resolver and the echo backend")
	cmd := exec.CommandContext(ctx, "go", "build", "-o", dir+string(os.PathSeparator), "./cmd/standin-resolver", "./cmd/echo-backend")
	cmd.Dir = filepath.Join(root, "harness")
	if out, err := cmd.CombinedOutput(); err != nil {
		return nil, nil, fmt.Errorf("go build ./cmd/standin-resolver ./cmd/echo-backend: %v\n%s", err, out)
	}
	start := func(name string, args ...string) (*proc, error) {
		p, err := startProc(name, filepath.Join(dir, name), append([]string{"-addr", "127.0.0.1:0"}, args...)...)
		if err != nil {
			return nil, err
		}
		return p, p.waitFor(ctx, "listening line", func() bool {
			_, rest, _ := strings.Cut(p.out.String(), "listening on http://")
			addr, _, ok := strings.Cut(rest, "\n")
			p.addr = strings.TrimSpace(addr)
			return ok
		})
	}
	if resolver, err = start("standin-resolver", "-users", users); err == nil {
		if backend, err = start("echo-backend"); err != nil {
			resolver.stop()
		}
	}
	return resolver, backend, err
}
