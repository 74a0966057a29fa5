package main

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// nginx is a running nginx, in the foreground, with its configuration,
// pid file, logs, temp paths and cache in a folder of its own.
type nginx struct {
	dir    string
	cmd    *exec.Cmd
	out    *lineTail
	exited chan struct{}
}

// startNginx writes the configuration into a new folder under parent and
// runs nginx until stop. It waits until the bare server answers.
func startNginx(ctx context.Context, parent string, s nginxSettings) (*nginx, error) {
	dir, err := os.MkdirTemp(parent, "nginx-")
	if err != nil {
		return nil, err
	}
	s.dir = dir
	if os.Geteuid() == 0 {
		// The workers drop to an unprivileged user, which must be able to
		// reach the cache and temp paths below dir.
		s.user = unprivilegedUser()
		for _, p := range []string{parent, dir} {
			if err := os.Chmod(p, 0o755); err != nil {
				return nil, err
			}
		}
	}
	if err := os.MkdirAll(filepath.Join(dir, "tmp"), 0o755); err != nil {
		return nil, err
	}
	conf := filepath.Join(dir, "nginx.conf")
	if err := os.WriteFile(conf, []byte(s.config()), 0o644); err != nil {
		return nil, err
	}
	n := &nginx{dir: dir, out: &lineTail{max: 50}, exited: make(chan struct{})}
	n.cmd = exec.Command(nginxBin, "-p", dir+"/", "-c", conf, "-e", filepath.Join(dir, "error.log"), "-g", "daemon off;")
	n.cmd.Stdout = n.out
	n.cmd.Stderr = n.out
	n.cmd.SysProcAttr = sysProcAttr()
	if err := n.cmd.Start(); err != nil {
		return nil, fmt.Errorf("start nginx: %w", err)
	}
	go func() {
		_ = n.cmd.Wait()
		close(n.exited)
	}()
	if err := n.waitReady(ctx, "http://"+s.bareAddr+"/small"); err != nil {
		n.stop()
		return nil, err
	}
	return n, nil
}

// unprivilegedUser returns the "user" directive's argument for nginx workers.
func unprivilegedUser() string {
	for _, g := range []string{"nogroup", "nobody"} {
		if _, err := user.LookupGroup(g); err == nil {
			return "nobody " + g
		}
	}
	return "nobody"
}

// waitReady polls url until it answers 200.
func (n *nginx) waitReady(ctx context.Context, url string) error {
	client := &http.Client{Timeout: 2 * time.Second}
	deadline := time.Now().Add(15 * time.Second)
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if resp, err := client.Do(req); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-n.exited:
			return fmt.Errorf("nginx exited at start:\n%s\n%s", n.out, n.errorLog())
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("nginx did not answer %s within 15 s:\n%s\n%s", url, n.out, n.errorLog())
		}
	}
}

// errorLog returns the end of nginx's error log.
func (n *nginx) errorLog() string {
	data, _ := os.ReadFile(filepath.Join(n.dir, "error.log"))
	s := string(data)
	if len(s) > 4000 {
		s = s[len(s)-4000:]
	}
	return strings.TrimSpace(s)
}

// stop asks nginx for a fast shutdown (SIGTERM), kills the master and its
// workers if they are still there after 5 s, and removes the folder.
func (n *nginx) stop() {
	select {
	case <-n.exited:
	default:
		pids, _ := withChildren(n.cmd.Process.Pid)
		_ = n.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-n.exited:
		case <-time.After(5 * time.Second):
			for _, pid := range pids {
				_ = syscall.Kill(pid, syscall.SIGKILL)
			}
			<-n.exited
		}
	}
	_ = os.RemoveAll(n.dir)
}
