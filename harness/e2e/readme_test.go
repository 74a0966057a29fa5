package e2e

import (
	"context"
	"fmt"
	"maps"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	authgear "github.com/traefik-authgear/traefik-authgear"
	"github.com/traefik-authgear/traefik-authgear/harness/examples"
	"github.com/traefik-authgear/traefik-authgear/harness/internal/harness"
)

// readmeDir holds the configuration snippets of readme.md and docs/*.md
// that the end-to-end tests run; the public example values below are
// replaced by local addresses when they run.
const (
	readmeDir          = "testdata/readme"
	exampleResolverURL = "https://myapp.authgear.cloud/_resolver/resolve"
	exampleBackendURL  = "http://127.0.0.1:3000"
	exampleAPIHost     = "api.example.com"
)

// readSnippet returns a file of readmeDir.
func readSnippet(t *testing.T, name string) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(readmeDir, name))
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

// TestReadmeSnippetsMatch: every snippet is a fenced block of readme.md or
// of a page in docs/, so that what the end-to-end tests run is what readers
// copy.
func TestReadmeSnippetsMatch(t *testing.T) {
	root, err := harness.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	pages, err := filepath.Glob(filepath.Join(root, "docs", "*.md"))
	if err != nil {
		t.Fatal(err)
	}
	var blocks []string
	for _, page := range append([]string{filepath.Join(root, "readme.md")}, pages...) {
		text, err := os.ReadFile(page)
		if err != nil {
			t.Fatal(err)
		}
		blocks = append(blocks, fencedBlocks(string(text))...)
	}
	entries, err := os.ReadDir(readmeDir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if snippet := strings.TrimRight(readSnippet(t, e.Name()), "\n"); !slices.Contains(blocks, snippet) {
			t.Errorf("neither readme.md nor docs/*.md has a fenced block with exactly the content of %s/%s (the configuration the end-to-end tests run); put this in the page that explains it:\n%s",
				readmeDir, e.Name(), snippet)
		}
	}
}

// TestReadmeOptionsTable: the README's options table has a row for every
// option of Config (and of tls), so that a reader finds each one there.
func TestReadmeOptionsTable(t *testing.T) {
	root, err := harness.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	readme, err := os.ReadFile(filepath.Join(root, "readme.md"))
	if err != nil {
		t.Fatal(err)
	}
	rows := map[string]bool{}
	for _, line := range strings.Split(string(readme), "\n") {
		if name, ok := strings.CutPrefix(line, "| `"); ok {
			if name, _, ok = strings.Cut(name, "` |"); ok {
				rows[name] = true
			}
		}
	}
	options := configOptions(reflect.TypeFor[authgear.Config](), "")
	if len(options) < 30 {
		t.Fatalf("read only %d options from Config's json tags: %v", len(options), options)
	}
	for _, option := range options {
		if !rows[option] {
			t.Errorf("readme.md's options table has no row \"| `%s` |\": add one, linking to the page that explains it", option)
		}
	}
}

// configOptions returns the option names of a Config-like struct, from its
// json tags: the names users write; nested structs as prefix.name.
func configOptions(typ reflect.Type, prefix string) []string {
	var names []string
	for field := range typ.Fields() {
		name, _, _ := strings.Cut(field.Tag.Get("json"), ",")
		if name == "" || name == "-" {
			continue
		}
		if field.Type.Kind() == reflect.Struct {
			names = append(names, configOptions(field.Type, prefix+name+".")...)
			continue
		}
		names = append(names, prefix+name)
	}
	return names
}

// fencedBlocks returns the contents of a Markdown text's fenced blocks.
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

// snippetPlugin parses a file-provider or labels (.txt) snippet and returns
// it with its only middleware's name and plugin options.
func snippetPlugin(t *testing.T, snippet string) (any, string, map[string]any) {
	t.Helper()
	var doc any
	var err error
	if strings.HasSuffix(snippet, ".txt") {
		doc, err = parseLabels(readSnippet(t, snippet))
	} else {
		doc, err = parseYAML(readSnippet(t, snippet))
	}
	if err != nil {
		t.Fatalf("%s: %v", snippet, err)
	}
	mws, _ := examples.Dig(doc, "http", "middlewares").(map[string]any)
	if len(mws) != 1 {
		t.Fatalf("%s: want one middleware, got %v", snippet, mws)
	}
	for name := range mws {
		if opts, ok := examples.Dig(mws, name, "plugin", harness.PluginName).(map[string]any); ok {
			return doc, name, opts
		}
	}
	t.Fatalf("%s: the middleware is not the plugin's: %v", snippet, mws)
	return nil, "", nil
}

// routerRules returns the rules, by router, of doc's routers that use mw.
func routerRules(doc any, mw string) map[string]string {
	routers, _ := examples.Dig(doc, "http", "routers").(map[string]any)
	rules := map[string]string{}
	for name, r := range routers {
		var used []string
		switch l := examples.Dig(r, "middlewares").(type) {
		case []any:
			for _, v := range l {
				used = append(used, fmt.Sprint(v))
			}
		case string: // labels: a comma-separated list
			used = strings.Split(l, ",")
		}
		if slices.Contains(used, mw) {
			rules[name] = fmt.Sprint(examples.Dig(r, "rule"))
		}
	}
	return rules
}

// TestSnippetOptionsLoad: every file and labels snippet's options, decoded
// as Traefik does, create the middleware: none misspelt, resolverURL set.
func TestSnippetOptionsLoad(t *testing.T) {
	for _, snippet := range []string{"file-provider.yml", "docker-labels.txt", "webhook-file-provider.yml", "webhook-docker-labels.txt"} {
		_, name, opts := snippetPlugin(t, snippet)
		cfg, err := examples.Decode(opts)
		if err == nil {
			_, err = authgear.New(context.Background(), http.NotFoundHandler(), cfg, snippet+"/"+name)
		}
		if err != nil {
			t.Errorf("%s: %v", snippet, err)
		}
	}
}

// TestKubernetesSnippetsMatchFileProvider: with no cluster here, the
// Middleware must have the file-provider snippet's options, and the routes
// using it the rules of the file routers using its middleware.
func TestKubernetesSnippetsMatchFileProvider(t *testing.T) {
	for kubernetes, file := range map[string]string{"kubernetes.yml": "file-provider.yml", "webhook-kubernetes.yml": "webhook-file-provider.yml"} {
		t.Run(kubernetes, func(t *testing.T) {
			doc, name, want := snippetPlugin(t, file)
			docs, err := examples.LoadManifests(filepath.Join(readmeDir, kubernetes))
			if err != nil {
				t.Fatal(err)
			}
			var mw string
			matches := map[string][]string{} // middleware name -> matches of the routes using it
			for _, d := range docs {
				switch d := stringScalars(d); examples.Dig(d, "kind") {
				case "Middleware":
					mw = fmt.Sprint(examples.Dig(d, "metadata", "name"))
					if got := examples.Dig(d, "spec", "plugin", harness.PluginName); !reflect.DeepEqual(got, want) {
						t.Errorf("spec.plugin.%s = %v\n%s: %v", harness.PluginName, got, file, want)
					}
				case "IngressRoute":
					routes, _ := examples.Dig(d, "spec", "routes").([]any)
					for _, r := range routes {
						used, _ := examples.Dig(r, "middlewares").([]any)
						for _, m := range used {
							matches[fmt.Sprint(examples.Dig(m, "name"))] = append(matches[fmt.Sprint(examples.Dig(m, "name"))], fmt.Sprint(examples.Dig(r, "match")))
						}
					}
				}
			}
			got, wantRules := matches[mw], slices.Sorted(maps.Values(routerRules(doc, name)))
			slices.Sort(got)
			if mw == "" || !slices.Equal(got, wantRules) {
				t.Errorf("the routes using Middleware %q match %q; %s's routers using %q have the rules %q", mw, got, file, name, wantRules)
			}
		})
	}
}

// TestWebhookSnippetsAgree: the file and labels webhook snippets have the
// same options (the webhook on, cacheTTL at most 10s) and router rules.
func TestWebhookSnippetsAgree(t *testing.T) {
	const file, labels = "webhook-file-provider.yml", "webhook-docker-labels.txt"
	fileDoc, fileName, opts := snippetPlugin(t, file)
	labelsDoc, labelsName, labelsOpts := snippetPlugin(t, labels)
	if !reflect.DeepEqual(opts, labelsOpts) {
		t.Errorf("plugin options differ:\n%s: %v\n%s: %v", file, opts, labels, labelsOpts)
	}
	if path, _ := opts["webhookPath"].(string); !strings.HasPrefix(path, "/") || opts["webhookSecret"] == "" || opts["webhookSecret"] == nil {
		t.Errorf("%s: webhookPath %q (want one that starts with /), webhookSecret %v", file, path, opts["webhookSecret"])
	}
	ttl, _ := opts["cacheTTL"].(string)
	if d, err := time.ParseDuration(ttl); err != nil || d > 10*time.Second {
		t.Errorf("%s: cacheTTL %q, want at most the default 10s: webhooks deliver no sign-out or role change", file, ttl)
	}
	fileRules, labelsRules := routerRules(fileDoc, fileName), routerRules(labelsDoc, labelsName)
	if len(fileRules) == 0 || !reflect.DeepEqual(fileRules, labelsRules) {
		t.Errorf("routers using the middleware: %s %v, %s %v", file, fileRules, labels, labelsRules)
	}
}

// TestStaticSnippet: static.yml names this module, at a release tag.
func TestStaticSnippet(t *testing.T) {
	doc, err := parseYAML(readSnippet(t, "static.yml"))
	if err != nil {
		t.Fatal(err)
	}
	plugin := examples.Dig(doc, "experimental", "plugins", harness.PluginName)
	if mod := examples.Dig(plugin, "moduleName"); mod != harness.PluginModule {
		t.Errorf("static.yml experimental.plugins.%s.moduleName = %v, want %s", harness.PluginName, mod, harness.PluginModule)
	}
	if v, _ := examples.Dig(plugin, "version").(string); !strings.HasPrefix(v, "v") {
		t.Errorf("static.yml: version = %q, want a tag such as v0.1.0", v)
	}
}

// Without a Docker engine, the labels snippet runs as the file-provider YAML
// that Traefik's label parser would hand the plugin: every value a string.

// parseLabels reads "key=value" lines (blank lines and # comments skipped)
// into a nested map keyed by the dot-separated parts after "traefik.".
// Labels outside "traefik.http." (traefik.enable, say) are left out.
func parseLabels(src string) (map[string]any, error) {
	root := map[string]any{}
	for i, line := range strings.Split(src, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		key, value, ok := strings.Cut(line, "=")
		if !ok {
			return nil, fmt.Errorf("line %d: want key=value, got %q", i+1, line)
		}
		path, ok := strings.CutPrefix(key, "traefik.")
		if !ok || !strings.HasPrefix(path, "http.") {
			continue
		}
		if err := setPath(root, strings.Split(path, "."), value); err != nil {
			return nil, fmt.Errorf("line %d: %w", i+1, err)
		}
	}
	return root, nil
}

// setPath sets m[p0][p1]...[pn] = value, creating the mappings on the way.
func setPath(m map[string]any, path []string, value any) error {
	for i, k := range path[:len(path)-1] {
		next, ok := m[k]
		if !ok {
			next = map[string]any{}
			m[k] = next
		}
		if m, ok = next.(map[string]any); !ok {
			return fmt.Errorf("%s is both a value and a section", strings.Join(path[:i+1], "."))
		}
	}
	last := path[len(path)-1]
	if _, dup := m[last]; dup {
		return fmt.Errorf("%s given twice", strings.Join(path, "."))
	}
	m[last] = value
	return nil
}

// labelsConfig converts a Docker-labels snippet into a dynamic configuration
// (every value a quoted string) in which each router sends to a service at
// exampleBackendURL, as Docker would send it to the labelled container.
func labelsConfig(t *testing.T, snippet string) string {
	t.Helper()
	labels, err := parseLabels(readSnippet(t, snippet))
	if err != nil {
		t.Fatal(err)
	}
	routers, _ := examples.Dig(labels, "http", "routers").(map[string]any)
	for name := range routers {
		if err := setPath(labels, []string{"http", "routers", name, "service"}, "backend"); err != nil {
			t.Fatal(err)
		}
	}
	servers := []any{map[string]any{"url": exampleBackendURL}}
	if err := setPath(labels, []string{"http", "services", "backend", "loadBalancer", "servers"}, servers); err != nil {
		t.Fatal(err)
	}
	return emitYAML(labels)
}

// TestLabelsToYAML: the README's labels become a file-provider configuration
// that reads back as the labels, every value the string Docker would give
// the plugin; labels outside traefik.http and a value with "=" are handled,
// and a label that is both a value and a section is refused.
func TestLabelsToYAML(t *testing.T) {
	got := labelsConfig(t, "docker-labels.txt")
	for _, want := range []string{`cacheTTL: 60s`, `cacheMaxEntries: "5000"`, `requireSession: "true"`, `allowedRoles: admin,editor`, "service: backend"} {
		if !strings.Contains(got, want) {
			t.Errorf("converted labels lack %s:\n%s", want, got)
		}
	}
	m, err := parseLabels("traefik.enable=true\ntraefik.http.routers.api.rule=Host(`a.b`) && Path(`/x=1`)\n")
	if err != nil {
		t.Fatal(err)
	}
	if back, err := parseYAML(emitYAML(m)); err != nil || !reflect.DeepEqual(back, any(map[string]any{"http": map[string]any{"routers": map[string]any{"api": map[string]any{"rule": "Host(`a.b`) && Path(`/x=1`)"}}}})) {
		t.Errorf("round trip of %v: %v, %v", m, back, err)
	}
	if _, err := parseLabels("traefik.http.a=1\ntraefik.http.a.b=2\n"); err == nil {
		t.Error("a label that is both a value and a section was accepted")
	}
}

// parseYAML parses one document (nil for an empty one), every scalar as its
// string as labels give them: file and label snippets compare value for value.
func parseYAML(src string) (any, error) {
	var doc any
	if err := yaml.Unmarshal([]byte(src), &doc); err != nil {
		return nil, err
	}
	return stringScalars(doc), nil
}

// stringScalars returns v with every scalar as its string.
func stringScalars(v any) any {
	switch v := v.(type) {
	case map[string]any:
		for k, e := range v {
			v[k] = stringScalars(e)
		}
	case []any:
		for i, e := range v {
			v[i] = stringScalars(e)
		}
	case nil:
	default:
		return fmt.Sprint(v)
	}
	return v
}

// emitYAML renders v as YAML, quoting strings that read as another type.
func emitYAML(v any) string {
	out, err := yaml.Marshal(v)
	if err != nil {
		panic(err)
	}
	return string(out)
}
