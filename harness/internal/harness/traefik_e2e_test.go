//go:build e2e

package harness

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestStartHelloPlugin runs a real Traefik with the harness's own test plugin
// (testdata/hello): start, route readiness, reload, RSS and stop.
func TestStartHelloPlugin(t *testing.T) {
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(r.Header.Get("X-Hello")))
	}))
	defer backend.Close()

	dynamic := func(greeting string) string {
		return `http:
  routers:
    hello:
      rule: PathPrefix(` + "`/`" + `)
      middlewares: [hello]
      service: backend
  middlewares:
    hello:
      plugin:
        authgear:
          greeting: ` + greeting + `
  services:
    backend:
      loadBalancer:
        servers:
          - url: ` + backend.URL + "\n"
	}
	tr, err := Start(context.Background(), Options{
		Dynamic:      dynamic("first"),
		PluginSource: filepath.Join("testdata", "hello"),
	})
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Stop()
	if err := tr.WaitRoute("/", 30*time.Second); err != nil {
		t.Fatal(err)
	}
	if got := get(t, tr.URL+"/"); got != "first" {
		t.Fatalf("backend saw X-Hello %q, want first", got)
	}

	if err := tr.WriteDynamic(dynamic("second")); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for get(t, tr.URL+"/") != "second" {
		if time.Now().After(deadline) {
			t.Fatalf("reload not applied within 10 s\n%s", tr.Logs())
		}
		time.Sleep(50 * time.Millisecond)
	}

	if rss, err := tr.RSS(); err != nil || rss < 1<<20 {
		t.Errorf("RSS() = %d, %v", rss, err)
	}
	dir := tr.Dir
	start := time.Now()
	if err := tr.Stop(); err != nil {
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
// WaitRoute fail with Traefik's output rather than hang or pass.
func TestStartReportsLoadFailure(t *testing.T) {
	src := t.TempDir()
	if err := CopyPlugin(filepath.Join("testdata", "hello"), src); err != nil {
		t.Fatal(err)
	}
	broken := []byte("package hello\n\n// min is not a builtin in Yaegi v0.16.1: the plugin fails to load.\nvar smallest = min(1, 2)\n")
	if err := os.WriteFile(filepath.Join(src, "broken.go"), broken, 0o644); err != nil {
		t.Fatal(err)
	}
	tr, err := Start(context.Background(), Options{
		Dynamic: `http:
  routers:
    hello:
      rule: PathPrefix(` + "`/`" + `)
      middlewares: [hello]
      service: noop@internal
  middlewares:
    hello:
      plugin:
        authgear: {}
`,
		PluginSource: src,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Stop()
	err = tr.WaitRoute("/", 3*time.Second)
	if err == nil || !strings.Contains(err.Error(), "Plugins are disabled") {
		t.Errorf("WaitRoute with a broken plugin: %v", err)
	}
}

func get(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(body)
}
