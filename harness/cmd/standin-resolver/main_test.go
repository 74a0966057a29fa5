package main

import (
	"context"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/traefik-authgear/traefik-authgear/harness/internal/serve"
	"github.com/traefik-authgear/traefik-authgear/harness/internal/stack"
)

const usersFile = "../../../testdata/users.json"

// start runs the command on a free port for the test and returns its base URL.
func start(t *testing.T, args ...string) string {
	return serve.Start(t, "standin-resolver", run, append([]string{"-addr", "127.0.0.1:0", "-users", usersFile}, args...)...)
}

// TestFlags resolves through the command started with and without the flags
// that override the users file, and times the -latency fault.
func TestFlags(t *testing.T) {
	plain, overridden := start(t), start(t, "-public-host", "auth.other.test", "-cookie-prefix", "ag_", "-latency", "30ms")
	for _, tc := range []struct {
		base, host, auth, cookie string
		user                     bool
	}{
		{plain, stack.PublicHost, "Bearer alice-token", "", true},
		{overridden, "auth.other.test", "Bearer bob-token", "", true},
		{overridden, stack.PublicHost, "Bearer bob-token", "", false},
		{overridden, "x", "", "ag_session=carol-session", true},
	} {
		req, _ := http.NewRequest(http.MethodGet, tc.base+"/_resolver/resolve", nil)
		req.Host = tc.host
		req.Header.Set("Authorization", tc.auth)
		req.Header.Set("Cookie", tc.cookie)
		began := time.Now()
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if got := resp.Header.Get("X-Authgear-User-Id"); (got != "") != tc.user {
			t.Errorf("%+v: user %q", tc, got)
		}
		if d := time.Since(began); tc.base == overridden && d < 30*time.Millisecond {
			t.Errorf("-latency 30ms: answered in %v", d)
		}
	}
}

func TestFlagErrors(t *testing.T) {
	noHost := filepath.Join(t.TempDir(), "users.json")
	if err := os.WriteFile(noHost, []byte(`{"users":[]}`), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
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
	} {
		if err := run(context.Background(), tc.args, io.Discard, io.Discard); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("run %q: %v, want an error mentioning %q", tc.args, err, tc.want)
		}
	}
}
