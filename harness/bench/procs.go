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
	addr   string // host:port a server listens on
	cmd    *exec.Cmd
	out    harness.TailBuffer
	exited chan struct{}
	once   sync.Once
}

// startProc starts bin with args and polls ready until it holds; it fails,
// stopping the process, when the process exits, ctx is done or 15 s have
// passed.
func startProc(ctx context.Context, ready func(*proc) bool, name, bin string, args ...string) (*proc, error) {
	p := &proc{cmd: exec.Command(bin, args...), exited: make(chan struct{})}
	p.cmd.Stdout, p.cmd.Stderr = &p.out, &p.out
	p.cmd.SysProcAttr = sysProcAttr()
	if err := p.cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	go func() {
		_ = p.cmd.Wait()
		close(p.exited)
	}()
	for deadline := time.Now().Add(15 * time.Second); !ready(p); {
		select {
		case <-p.exited:
			return nil, fmt.Errorf("%s exited at start:\n%s", name, p.out.String())
		case <-ctx.Done():
			p.stop()
			return nil, ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			p.stop()
			return nil, fmt.Errorf("%s not ready within 15 s:\n%s", name, p.out.String())
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
