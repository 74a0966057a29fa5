package main

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"os/user"
	"path/filepath"
	"time"
)

// startNginx runs nginx in the foreground with its configuration, pid file,
// logs, temp paths and cache in a new folder under parent (which the
// caller removes), and waits until the bare server answers.
func startNginx(ctx context.Context, parent string, s nginxSettings) (*proc, error) {
	dir, err := os.MkdirTemp(parent, "nginx-")
	if err != nil {
		return nil, err
	}
	s.dir = dir
	if os.Geteuid() == 0 {
		// The workers drop to an unprivileged user, which must be able to
		// reach the cache and temp paths below dir.
		s.user = "nobody"
		for _, g := range []string{"nogroup", "nobody"} {
			if _, err := user.LookupGroup(g); err == nil {
				s.user = "nobody " + g
				break
			}
		}
		for _, p := range []string{parent, dir} {
			if err := os.Chmod(p, 0o755); err != nil {
				return nil, err
			}
		}
	}
	conf := filepath.Join(dir, "nginx.conf")
	if err := os.MkdirAll(filepath.Join(dir, "tmp"), 0o755); err != nil {
		return nil, err
	}
	if err := os.WriteFile(conf, []byte(s.config()), 0o644); err != nil {
		return nil, err
	}
	client := &http.Client{Timeout: 2 * time.Second}
	answers := func(*proc) bool {
		_, err := requestOK(ctx, client, http.MethodGet, "http://"+s.bareAddr+"/small", "")
		return err == nil
	}
	p, err := startProc(ctx, answers, "nginx", nginxBin, "-p", dir+"/", "-c", conf, "-e", filepath.Join(dir, "error.log"), "-g", "daemon off;")
	if err != nil {
		data, _ := os.ReadFile(filepath.Join(dir, "error.log"))
		return nil, fmt.Errorf("%w\nerror.log:\n%s", err, lastLines(string(data), 20, "\n"))
	}
	return p, nil
}
