package e2e

import (
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/traefik-authgear/traefik-authgear/harness/internal/harness"
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

// filePluginConfig returns the middleware name and plugin options of a
// file-provider snippet (file-provider.yml, webhook-file-provider.yml).
func filePluginConfig(t *testing.T, snippet string) (string, map[string]any) {
	t.Helper()
	doc, err := parseYAML(readSnippet(t, snippet))
	if err != nil {
		t.Fatal(err)
	}
	return dynamicPluginConfig(t, snippet, doc)
}

// dynamicPluginConfig returns the only middleware of a dynamic configuration
// (a file-provider snippet, or converted labels) and its plugin options.
func dynamicPluginConfig(t *testing.T, where string, doc any) (string, map[string]any) {
	t.Helper()
	mws, err := lookup(doc, "http", "middlewares")
	if err != nil {
		t.Fatalf("%s: %v", where, err)
	}
	m, _ := mws.(map[string]any)
	if len(m) != 1 {
		t.Fatalf("%s: want one middleware, got %v", where, m)
	}
	for name := range m {
		opts, err := lookup(m, name, "plugin", harness.PluginName)
		if err != nil {
			t.Fatalf("%s: %v", where, err)
		}
		return name, opts.(map[string]any)
	}
	return "", nil
}

// routerRules returns, by router name, the rules of the routers of a
// dynamic configuration that use middleware mw.
func routerRules(t *testing.T, where string, doc any, mw string) map[string]string {
	t.Helper()
	routers, err := lookup(doc, "http", "routers")
	if err != nil {
		t.Fatalf("%s: %v", where, err)
	}
	rules := map[string]string{}
	for name, r := range routers.(map[string]any) {
		var used []string
		switch l := mustLookup(r, "middlewares").(type) {
		case []any:
			for _, v := range l {
				s, _ := v.(string)
				used = append(used, s)
			}
		case string: // labels: a comma-separated list
			used = strings.Split(l, ",")
		}
		if contains(used, mw) {
			rule, _ := mustLookup(r, "rule").(string)
			rules[name] = rule
		}
	}
	return rules
}

// mustLookup is lookup with nil for a missing key.
func mustLookup(v any, path ...string) any {
	got, _ := lookup(v, path...)
	return got
}

// kubernetesPairs are the Kubernetes snippets and the file-provider snippets
// that configure the same thing (and that the end-to-end tests run).
var kubernetesPairs = []struct{ kubernetes, file string }{
	{"kubernetes.yml", "file-provider.yml"},
	{"webhook-kubernetes.yml", "webhook-file-provider.yml"},
}

// TestKubernetesSnippetMatchesFileProvider checks what cannot run here (no
// cluster): the Middleware resource configures the plugin with exactly the
// options of the file-provider snippet, which the end-to-end tests run, and
// an IngressRoute route with the file-provider router's rule uses it.
func TestKubernetesSnippetMatchesFileProvider(t *testing.T) {
	for _, pair := range kubernetesPairs {
		t.Run(pair.kubernetes, func(t *testing.T) {
			checkKubernetesSnippet(t, pair.kubernetes, pair.file)
		})
	}
}

func checkKubernetesSnippet(t *testing.T, kubernetes, file string) {
	fileDoc, err := parseYAML(readSnippet(t, file))
	if err != nil {
		t.Fatal(err)
	}
	name, want := dynamicPluginConfig(t, file, fileDoc)
	var wantRules []string
	for _, rule := range routerRules(t, file, fileDoc, name) {
		wantRules = append(wantRules, rule)
	}
	docs, err := parseYAMLDocs(readSnippet(t, kubernetes))
	if err != nil {
		t.Fatal(err)
	}
	var mwName string
	routeMatches := map[string][]string{} // middleware name -> matches of the routes using it
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
				t.Errorf("%s spec.plugin.%s = %v\n%s http.middlewares.%s.plugin.%s = %v",
					kubernetes, harness.PluginName, got, file, name, harness.PluginName, want)
			}
		case "IngressRoute":
			routes, _ := lookup(doc, "spec", "routes")
			list, _ := routes.([]any)
			for _, r := range list {
				match, _ := mustLookup(r, "match").(string)
				l, _ := mustLookup(r, "middlewares").([]any)
				for _, mw := range l {
					s, _ := mustLookup(mw, "name").(string)
					routeMatches[s] = append(routeMatches[s], match)
				}
			}
		}
	}
	if mwName == "" {
		t.Fatalf("%s has no Middleware with metadata.name", kubernetes)
	}
	matches, ok := routeMatches[mwName]
	if !ok {
		t.Fatalf("%s: no IngressRoute route uses middleware %q (routes use %v)", kubernetes, mwName, routeMatches)
	}
	sort.Strings(matches)
	sort.Strings(wantRules)
	if !reflect.DeepEqual(matches, wantRules) {
		t.Errorf("%s: the routes using %q match %q; %s's routers using %q have the rules %q",
			kubernetes, mwName, matches, file, name, wantRules)
	}
}

// snippetPairs are the file-provider and Docker-labels snippets that are
// shown side by side.
var snippetPairs = []struct{ file, labels string }{
	{"file-provider.yml", "docker-labels.txt"},
	{"webhook-file-provider.yml", "webhook-docker-labels.txt"},
}

// TestSnippetOptionsKnown checks every plugin option key in the snippets.
func TestSnippetOptionsKnown(t *testing.T) {
	all := map[string]map[string]any{}
	for _, pair := range snippetPairs {
		_, all[pair.file] = filePluginConfig(t, pair.file)
		labels, err := parseLabels(readSnippet(t, pair.labels))
		if err != nil {
			t.Fatalf("%s: %v", pair.labels, err)
		}
		mws, _ := lookup(labels, "http", "middlewares")
		for name := range mws.(map[string]any) {
			opts, err := lookup(mws, name, "plugin", harness.PluginName)
			if err != nil {
				t.Fatal(err)
			}
			all[pair.labels+" "+name] = opts.(map[string]any)
		}
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

// TestWebhookSnippetsAgree checks that the webhook snippets say the same
// thing in their three forms (the Kubernetes one is compared with the file
// one in TestKubernetesSnippetMatchesFileProvider): the same plugin options,
// the webhook on, a cacheTTL longer than the default 60s, and the same rule
// for the router that uses the middleware.
func TestWebhookSnippetsAgree(t *testing.T) {
	const file, labelsFile = "webhook-file-provider.yml", "webhook-docker-labels.txt"
	fileDoc, err := parseYAML(readSnippet(t, file))
	if err != nil {
		t.Fatal(err)
	}
	name, fileOpts := dynamicPluginConfig(t, file, fileDoc)
	labels, err := parseLabels(readSnippet(t, labelsFile))
	if err != nil {
		t.Fatal(err)
	}
	labelsName, labelsOpts := dynamicPluginConfig(t, labelsFile, labels)
	if !reflect.DeepEqual(fileOpts, labelsOpts) {
		t.Errorf("plugin options differ:\n%s: %v\n%s: %v", file, fileOpts, labelsFile, labelsOpts)
	}
	for _, k := range []string{"webhookPath", "webhookSecret"} {
		if v, _ := fileOpts[k].(string); v == "" {
			t.Errorf("%s: no %s", file, k)
		}
	}
	if p, _ := fileOpts["webhookPath"].(string); !strings.HasPrefix(p, "/") {
		t.Errorf("%s: webhookPath %q does not start with /", file, p)
	}
	ttl, _ := fileOpts["cacheTTL"].(string)
	if d, err := time.ParseDuration(ttl); err != nil || d > 10*time.Second {
		t.Errorf("%s: cacheTTL %q, want at most the default 10s: webhooks deliver no sign-out or role change", file, ttl)
	}
	fileRules := routerRules(t, file, fileDoc, name)
	labelsRules := routerRules(t, labelsFile, labels, labelsName)
	if len(fileRules) == 0 || !reflect.DeepEqual(fileRules, labelsRules) {
		t.Errorf("routers using the middleware: %s %v, %s %v", file, fileRules, labelsFile, labelsRules)
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
