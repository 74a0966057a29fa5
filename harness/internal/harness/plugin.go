package harness

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// CopyPlugin copies what Traefik needs to load the plugin from src (a module
// root) into dst: the non-test .go files, go.mod, go.sum, .traefik.yml, the
// files its iconPath and bannerPath name, and a vendor folder if there is one.
// Tests, test data and tooling are left out, as they are for a catalog user.
func CopyPlugin(src, dst string) error {
	entries, err := os.ReadDir(src)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dst, 0o755); err != nil {
		return err
	}
	if _, err := os.Stat(filepath.Join(src, ".traefik.yml")); err != nil {
		return fmt.Errorf("plugin source %s: %w", src, err)
	}
	for _, e := range entries {
		name := e.Name()
		if !e.Type().IsRegular() || !pluginFile(name) {
			continue
		}
		if err := copyFile(filepath.Join(src, name), filepath.Join(dst, name)); err != nil {
			return err
		}
	}
	assets, err := manifestAssets(filepath.Join(src, ".traefik.yml"))
	if err != nil {
		return err
	}
	for _, a := range assets {
		if err := copyFile(filepath.Join(src, a), filepath.Join(dst, a)); err != nil {
			return fmt.Errorf("asset named in .traefik.yml: %w", err)
		}
	}
	if st, err := os.Stat(filepath.Join(src, "vendor")); err == nil && st.IsDir() {
		return os.CopyFS(filepath.Join(dst, "vendor"), os.DirFS(filepath.Join(src, "vendor")))
	}
	return nil
}

// pluginFile reports whether a root file belongs to the plugin as loaded.
func pluginFile(name string) bool {
	switch name {
	case "go.mod", "go.sum", ".traefik.yml":
		return true
	}
	return strings.HasSuffix(name, ".go") && !strings.HasSuffix(name, "_test.go")
}

// manifestAssets returns the relative paths that .traefik.yml's iconPath and
// bannerPath name (read line by line: the manifest is flat YAML).
func manifestAssets(manifest string) ([]string, error) {
	data, err := os.ReadFile(manifest)
	if err != nil {
		return nil, err
	}
	var out []string
	for line := range strings.Lines(string(data)) {
		for _, key := range []string{"iconPath:", "bannerPath:"} {
			if v, ok := strings.CutPrefix(line, key); ok {
				v = strings.Trim(strings.TrimSpace(v), `"'`)
				if v != "" && !strings.Contains(v, "://") {
					out = append(out, filepath.FromSlash(v))
				}
			}
		}
	}
	return out, nil
}

// copyFile copies one file, creating the destination's folder.
func copyFile(src, dst string) error {
	data, err := os.ReadFile(src)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	return os.WriteFile(dst, data, 0o644)
}
