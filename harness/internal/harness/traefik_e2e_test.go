//go:build e2e

package harness_test

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/traefik-authgear/traefik-authgear/harness/internal/echo"
	"github.com/traefik-authgear/traefik-authgear/harness/internal/harness"
	"github.com/traefik-authgear/traefik-authgear/harness/internal/stack"
)

// hello is the harness's test plugin (testdata/hello) on every path.
func hello(greeting string) ([]stack.Middleware, []stack.Route) {
	body := map[string]any{"plugin": map[string]any{"authgear": map[string]any{"greeting": greeting}}}
	return []stack.Middleware{{Name: "hello", Body: body}}, []stack.Route{{Middlewares: []string{"hello"}}}
}

// TestStartHelloPlugin runs a real Traefik with the test plugin: start,
// route readiness, reload, RSS and stop.
func TestStartHelloPlugin(t *testing.T) {
	mws, routes := hello("first")
	s, err := stack.Start(context.Background(), stack.Options{Middlewares: mws, Routes: routes,
		Traefik: harness.Options{PluginSource: filepath.Join("testdata", "hello")}})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Stop()
	greeting := func() string {
		resp, err := http.Get(s.URL("/"))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var r echo.Request
		json.NewDecoder(resp.Body).Decode(&r)
		return http.Header(r.Headers).Get("X-Hello")
	}
	if got := greeting(); got != "first" {
		t.Fatalf("backend saw X-Hello %q, want first", got)
	}
	if err := s.Reload(hello("second")); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(10 * time.Second); greeting() != "second"; time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("reload not applied within 10 s\n%s", s.Traefik.Logs())
		}
	}
	if rss, err := s.Traefik.RSS(); err != nil || rss < 1<<20 {
		t.Errorf("RSS() = %d, %v", rss, err)
	}
	dir, start := s.Traefik.Dir, time.Now()
	if err := s.Traefik.Stop(); err != nil {
		t.Errorf("Stop: %v", err)
	}
	if d := time.Since(start); d > 4*time.Second {
		t.Errorf("Stop took %s", d)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("Stop left %s behind: %v", dir, err)
	}
}

// TestStartReportsLoadFailure checks that a plugin that fails to load makes
// the wait for its route fail with Traefik's output rather than hang or pass.
func TestStartReportsLoadFailure(t *testing.T) {
	src := t.TempDir()
	if err := harness.CopyPlugin(filepath.Join("testdata", "hello"), src); err != nil {
		t.Fatal(err)
	}
	broken := []byte("package hello\n\n// min is not a builtin in Yaegi v0.16.1: the plugin fails to load.\nvar smallest = min(1, 2)\n")
	if err := os.WriteFile(filepath.Join(src, "broken.go"), broken, 0o644); err != nil {
		t.Fatal(err)
	}
	mws, routes := hello("")
	_, err := stack.Start(context.Background(), stack.Options{Middlewares: mws, Routes: routes,
		Traefik: harness.Options{PluginSource: src}, Wait: 3 * time.Second})
	if err == nil || !strings.Contains(err.Error(), "Plugins are disabled") {
		t.Errorf("a broken plugin: %v", err)
	}
}
