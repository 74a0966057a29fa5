package main

import (
	"bufio"
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
)

// server is a helper program of this repository (the stand-in resolver or
// the echo backend) running as its own process, so that its CPU time is not
// the benchmark's or the proxy's.
type server struct {
	name   string
	addr   string // host:port it listens on
	cmd    *exec.Cmd
	out    *lineTail
	exited chan struct{}
	once   sync.Once
}

// buildServers compiles ./cmd/standin-resolver and ./cmd/echo-backend into
// dir and returns their paths.
func buildServers(ctx context.Context, root, dir string) (resolver, backend string, err error) {
	cmd := exec.CommandContext(ctx, "go", "build", "-o", dir+string(os.PathSeparator),
		"./cmd/standin-resolver", "./cmd/echo-backend")
	cmd.Dir = filepath.Join(root, "harness")
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", "", fmt.Errorf("go build ./cmd/standin-resolver ./cmd/echo-backend: %v\n%s", err, out)
	}
	return filepath.Join(dir, "standin-resolver"), filepath.Join(dir, "echo-backend"), nil
}

// startServer runs bin with args (which must ask for port 0 on 127.0.0.1)
// and waits for its "listening on http://ADDR" line.
func startServer(name, bin string, args ...string) (*server, error) {
	s := &server{name: name, out: &lineTail{max: 50}, exited: make(chan struct{})}
	s.cmd = exec.Command(bin, args...)
	s.cmd.SysProcAttr = sysProcAttr()
	stdout, err := s.cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	s.cmd.Stderr = s.out
	if err := s.cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	addrc := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			line := sc.Text()
			if _, rest, ok := strings.Cut(line, "listening on http://"); ok {
				select {
				case addrc <- strings.TrimSpace(rest):
				default:
				}
			}
			s.out.add(line)
		}
		_, _ = io.Copy(io.Discard, stdout)
	}()
	go func() {
		_ = s.cmd.Wait()
		close(s.exited)
	}()
	select {
	case s.addr = <-addrc:
		return s, nil
	case <-s.exited:
		return nil, fmt.Errorf("%s exited at start:\n%s", name, s.out)
	case <-time.After(15 * time.Second):
		s.stop()
		return nil, fmt.Errorf("%s printed no listening line within 15 s:\n%s", name, s.out)
	}
}

// stop sends SIGTERM and kills the process if it is still there after 5 s.
func (s *server) stop() {
	s.once.Do(func() {
		select {
		case <-s.exited:
			return
		default:
		}
		_ = s.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-s.exited:
		case <-time.After(5 * time.Second):
			_ = s.cmd.Process.Kill()
			<-s.exited
		}
	})
}

// lineTail keeps the last max lines written to it; safe for concurrent use.
type lineTail struct {
	mu    sync.Mutex
	max   int
	lines []string
	part  string
}

// Write implements io.Writer, splitting on newlines.
func (t *lineTail) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	s := t.part + string(p)
	for {
		line, rest, ok := strings.Cut(s, "\n")
		if !ok {
			break
		}
		t.addLocked(line)
		s = rest
	}
	t.part = s
	return len(p), nil
}

// add keeps one line.
func (t *lineTail) add(line string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.addLocked(line)
}

func (t *lineTail) addLocked(line string) {
	t.lines = append(t.lines, line)
	if len(t.lines) > t.max {
		t.lines = t.lines[len(t.lines)-t.max:]
	}
}

// String returns the kept lines.
func (t *lineTail) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return strings.Join(append(append([]string(nil), t.lines...), t.part), "\n")
}
