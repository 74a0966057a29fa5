package e2e

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/traefik-authgear/traefik-authgear/internal/harness"
)

// readmeDir holds the canonical configuration snippets of readme.md. The
// end-to-end tests run them (with local addresses substituted for the public
// example values), and TestReadmeSnippetsMatch keeps readme.md in step.
const readmeDir = "testdata/readme"

// pluginOptions are the plugin's option names, for catching a misspelt key in
// a snippet (Traefik would silently ignore it).
var pluginOptions = []string{
	"resolverURL", "resolverHost", "timeout", "cacheTTL", "cacheMaxEntries",
	"cookiePrefix", "staleIfError", "onResolverError", "requireSession",
	"rejectAnonymousUsers", "allowedRoles", "loginURL", "forwardResolverCookies",
	"tls", "webhookPath", "webhookSecret",
}

// readSnippet returns the content of one file of readmeDir.
func readSnippet(t *testing.T, name string) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(readmeDir, name))
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

// TestReadmeSnippetsMatch checks that every snippet in testdata/readme is, byte
// for byte, the content of a fenced code block in readme.md.
func TestReadmeSnippetsMatch(t *testing.T) {
	root, err := harness.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	readme, err := os.ReadFile(filepath.Join(root, "readme.md"))
	if err != nil {
		t.Fatal(err)
	}
	blocks := fencedBlocks(string(readme))
	entries, err := os.ReadDir(readmeDir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		snippet := strings.TrimRight(readSnippet(t, e.Name()), "\n")
		found := false
		for _, b := range blocks {
			if b == snippet {
				found = true
				break
			}
		}
		if !found {
			t.Errorf("readme.md has no fenced block with exactly the content of %s/%s (the configuration the end-to-end tests run); put this in readme.md:\n%s",
				readmeDir, e.Name(), snippet)
		}
	}
}

// fencedBlocks returns the contents of the ``` and ~~~ blocks of a Markdown
// text, without their fences and final newline.
func fencedBlocks(md string) []string {
	var blocks, cur []string
	fence := ""
	for _, line := range strings.Split(md, "\n") {
		trimmed := strings.TrimRight(line, " \r")
		switch {
		case fence == "" && (strings.HasPrefix(trimmed, "```") || strings.HasPrefix(trimmed, "~~~")):
			fence = trimmed[:3]
			cur = nil
		case fence != "" && trimmed == fence:
			blocks = append(blocks, strings.Join(cur, "\n"))
			fence = ""
		case fence != "":
			cur = append(cur, strings.TrimRight(line, "\r"))
		}
	}
	return blocks
}

// filePluginConfig returns the file-provider snippet's middleware name and
// plugin options.
func filePluginConfig(t *testing.T) (string, map[string]any) {
	t.Helper()
	doc, err := parseYAML(readSnippet(t, "file-provider.yml"))
	if err != nil {
		t.Fatal(err)
	}
	mws, err := lookup(doc, "http", "middlewares")
	if err != nil {
		t.Fatal(err)
	}
	m, _ := mws.(map[string]any)
	if len(m) != 1 {
		t.Fatalf("file-provider.yml: want one middleware, got %v", m)
	}
	for name := range m {
		opts, err := lookup(m, name, "plugin", harness.PluginName)
		if err != nil {
			t.Fatal(err)
		}
		return name, opts.(map[string]any)
	}
	return "", nil
}

// TestKubernetesSnippetMatchesFileProvider checks what cannot run here (no
// cluster): the Middleware resource configures the plugin with exactly the
// options of the file-provider snippet, which the end-to-end tests run, and
// the IngressRoute uses it.
func TestKubernetesSnippetMatchesFileProvider(t *testing.T) {
	name, want := filePluginConfig(t)
	docs, err := parseYAMLDocs(readSnippet(t, "kubernetes.yml"))
	if err != nil {
		t.Fatal(err)
	}
	var mwName string
	var routeMiddlewares []string
	for _, doc := range docs {
		kind, _ := lookup(doc, "kind")
		switch kind {
		case "Middleware":
			n, _ := lookup(doc, "metadata", "name")
			mwName, _ = n.(string)
			got, err := lookup(doc, "spec", "plugin", harness.PluginName)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("kubernetes.yml spec.plugin.%s = %v\nfile-provider.yml http.middlewares.%s.plugin.%s = %v",
					harness.PluginName, got, name, harness.PluginName, want)
			}
		case "IngressRoute":
			routes, _ := lookup(doc, "spec", "routes")
			list, _ := routes.([]any)
			for _, r := range list {
				mws, _ := lookup(r, "middlewares")
				l, _ := mws.([]any)
				for _, mw := range l {
					n, _ := lookup(mw, "name")
					s, _ := n.(string)
					routeMiddlewares = append(routeMiddlewares, s)
				}
			}
		}
	}
	if mwName == "" {
		t.Fatal("kubernetes.yml has no Middleware with metadata.name")
	}
	if !contains(routeMiddlewares, mwName) {
		t.Errorf("kubernetes.yml: no IngressRoute route uses middleware %q (routes use %v)", mwName, routeMiddlewares)
	}
}

// TestSnippetOptionsKnown checks every plugin option key in the snippets.
func TestSnippetOptionsKnown(t *testing.T) {
	_, fileOpts := filePluginConfig(t)
	labels, err := parseLabels(readSnippet(t, "docker-labels.txt"))
	if err != nil {
		t.Fatal(err)
	}
	mws, _ := lookup(labels, "http", "middlewares")
	all := map[string]map[string]any{"file-provider.yml": fileOpts}
	for name := range mws.(map[string]any) {
		opts, err := lookup(mws, name, "plugin", harness.PluginName)
		if err != nil {
			t.Fatal(err)
		}
		all["docker-labels.txt "+name] = opts.(map[string]any)
	}
	for where, opts := range all {
		for k := range opts {
			if !containsFold(pluginOptions, k) {
				t.Errorf("%s: unknown plugin option %q (known: %v)", where, k, pluginOptions)
			}
		}
		if _, ok := opts["resolverURL"]; !ok {
			t.Errorf("%s: no resolverURL", where)
		}
	}
}

// TestStaticSnippet checks the static configuration snippet names this
// module under the plugin name the other snippets use.
func TestStaticSnippet(t *testing.T) {
	doc, err := parseYAML(readSnippet(t, "static.yml"))
	if err != nil {
		t.Fatal(err)
	}
	mod, err := lookup(doc, "experimental", "plugins", harness.PluginName, "moduleName")
	if err != nil || mod != harness.PluginModule {
		t.Errorf("static.yml experimental.plugins.%s.moduleName = %v (%v), want %s", harness.PluginName, mod, err, harness.PluginModule)
	}
	if v, err := lookup(doc, "experimental", "plugins", harness.PluginName, "version"); err != nil || !strings.HasPrefix(v.(string), "v") {
		t.Errorf("static.yml: version = %v (%v), want a tag such as v0.1.0", v, err)
	}
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

func containsFold(list []string, s string) bool {
	for _, v := range list {
		if strings.EqualFold(v, s) {
			return true
		}
	}
	return false
}
