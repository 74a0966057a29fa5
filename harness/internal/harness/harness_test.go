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

func TestStaticConfig(t *testing.T) {
	c := staticConfig{
		LogLevel:    "ERROR",
		EntryAddr:   "127.0.0.1:1",
		AdminAddr:   "127.0.0.1:2",
		EntryPoints: map[string]string{"metrics": "127.0.0.1:3"},
		DynamicFile: "/x/conf/dynamic.yml",
		Module:      PluginModule,
		Extra:       "api:\n  insecure: true\n",
	}
	y := c.yaml()
	for _, want := range []string{
		"  web:\n    address: \"127.0.0.1:1\"\n",
		"  traefik:\n    address: \"127.0.0.1:2\"\n",
		"  metrics:\n    address: \"127.0.0.1:3\"\n",
		"ping:\n  entryPoint: traefik\n",
		"    filename: \"/x/conf/dynamic.yml\"\n    watch: true\n",
		"experimental:\n  localPlugins:\n    authgear:\n      moduleName: " + PluginModule + "\n",
		"api:\n  insecure: true\n",
	} {
		if !strings.Contains(y, want) {
			t.Errorf("static config lacks %q:\n%s", want, y)
		}
	}
	c.Module = ""
	if y := c.yaml(); strings.Contains(y, "experimental") {
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
