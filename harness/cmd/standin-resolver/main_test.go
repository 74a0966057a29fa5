package main

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

const usersFile = "../../../testdata/users.json"

// start runs the command on a free port and returns its base URL.
func start(t *testing.T, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		err := run(ctx, append([]string{"-addr", "127.0.0.1:0", "-users", usersFile}, args...), pw, io.Discard)
		pw.CloseWithError(io.EOF)
		done <- err
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("run after cancel: %v", err)
			}
		case <-time.After(10 * time.Second):
			t.Error("run did not return after cancel")
		}
	})
	line, err := bufio.NewReader(pr).ReadString('\n')
	go func() { _, _ = io.Copy(io.Discard, pr) }()
	const prefix = "standin-resolver listening on http://"
	if err != nil || !strings.HasPrefix(line, prefix) {
		t.Fatalf("first line %q (%v), want %q", line, err, prefix+"ADDR")
	}
	return "http://" + strings.TrimSpace(strings.TrimPrefix(line, prefix))
}

func resolve(t *testing.T, base, host, auth, cookie string) http.Header {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, base+"/_resolver/resolve", nil)
	req.Host = host
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	if cookie != "" {
		req.Header.Set("Cookie", cookie)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.Header
}

func TestServes(t *testing.T) {
	base := start(t)
	if got := resolve(t, base, "auth.example.test", "Bearer alice-token", "").Get("X-Authgear-User-Id"); got != "7b0f6c42-1a6e-4d0e-9c53-2c1f0f6f5b1e" {
		t.Errorf("alice's bearer token on the public host resolved to %q", got)
	}
}

func TestOverrides(t *testing.T) {
	base := start(t, "-public-host", "auth.other.test", "-cookie-prefix", "ag_", "-latency", "30ms")
	if got := resolve(t, base, "auth.other.test", "Bearer bob-token", "").Get("X-Authgear-User-Id"); got == "" {
		t.Error("-public-host: bob's token was not accepted on the overriding host")
	}
	if got := resolve(t, base, "auth.example.test", "Bearer bob-token", "").Get("X-Authgear-User-Id"); got != "" {
		t.Error("-public-host: the file's host is still accepted")
	}
	start := time.Now()
	if got := resolve(t, base, "x", "", "ag_session=carol-session").Get("X-Authgear-User-Id"); got == "" {
		t.Error("-cookie-prefix: ag_session was not read")
	}
	if d := time.Since(start); d < 30*time.Millisecond {
		t.Errorf("-latency 30ms: answered in %v", d)
	}
}

func TestFlagErrors(t *testing.T) {
	noHost := filepath.Join(t.TempDir(), "users.json")
	if err := os.WriteFile(noHost, []byte(`{"users":[]}`), 0o600); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"-users", "/nonexistent/users.json"}, "read users file"},
		{[]string{"-users", noHost}, "-public-host"},
		{[]string{"-users", usersFile, "-cookie-prefix", "a b"}, "cookiePrefix"},
		{[]string{"-users", usersFile, "-latency", "-1s"}, "negative"},
		{[]string{"-users", usersFile, "-addr", "256.0.0.1:99999"}, "-addr"},
		{[]string{"-users", usersFile, "extra"}, "unexpected arguments"},
		{[]string{"-nope"}, "not defined"},
	}
	for _, tc := range cases {
		var stderr bytes.Buffer
		err := run(context.Background(), tc.args, io.Discard, &stderr)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("run %q: %v, want an error mentioning %q", tc.args, err, tc.want)
		}
	}
}
