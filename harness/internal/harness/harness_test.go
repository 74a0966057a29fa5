package harness

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestRepoRoot(t *testing.T) {
	root, err := RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "tools", "traefik-bin.sh")); err != nil {
		t.Errorf("RepoRoot() = %s, which has no tools/traefik-bin.sh: %v", root, err)
	}
}

func TestCopyPlugin(t *testing.T) {
	dst := t.TempDir()
	if err := CopyPlugin(filepath.Join("testdata", "hello"), dst); err != nil {
		t.Fatal(err)
	}
	var got []string
	entries, _ := os.ReadDir(dst) // sorted by name
	for _, e := range entries {
		got = append(got, e.Name())
	}
	if want := ".traefik.yml go.mod hello.go"; strings.Join(got, " ") != want {
		t.Errorf("copied %v, want %s", got, want)
	}
}

// TestStaticConfig checks what the e2e tests do not exercise: an extra
// entrypoint, extra static YAML, and no experimental section without the
// plugin (the rest is what every e2e Traefik starts with).
func TestStaticConfig(t *testing.T) {
	c := staticConfig{LogLevel: "ERROR", EntryAddr: "127.0.0.1:1", AdminAddr: "127.0.0.1:2", DynamicFile: "/x/conf/dynamic.yml",
		EntryPoints: map[string]string{"metrics": "127.0.0.1:3"}, Extra: "api:\n  insecure: true\n"}
	y := c.yaml()
	for _, want := range []string{"    metrics:\n        address: 127.0.0.1:3\n", "api:\n  insecure: true\n"} {
		if !strings.Contains(y, want) {
			t.Errorf("static config lacks %q:\n%s", want, y)
		}
	}
	if strings.Contains(y, "experimental") {
		t.Errorf("static config without plugin has an experimental section:\n%s", y)
	}
}

func TestRouteAnswered(t *testing.T) {
	for _, tc := range []struct {
		status int
		body   string
		want   bool
	}{
		{200, "{}", true},
		{401, "unauthorized", true},
		{404, "404 page not found\n", false},
		{502, "Bad Gateway", false},
		{502, "authgear: resolver unavailable", true},
		{503, "Service Unavailable", false},
		{504, "Gateway Timeout", true},
	} {
		if got := routeAnswered(tc.status, []byte(tc.body)); got != tc.want {
			t.Errorf("routeAnswered(%d, %q) = %v, want %v", tc.status, tc.body, got, tc.want)
		}
	}
}
