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

	authgear "github.com/traefik-authgear/traefik-authgear"
	"github.com/traefik-authgear/traefik-authgear/harness/examples"
	"github.com/traefik-authgear/traefik-authgear/harness/internal/harness"
)

// readmeDir holds readme.md's configuration snippets; the public example
// values below are replaced by local addresses when they run.
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

// TestReadmeSnippetsMatch: every snippet is a fenced block of readme.md.
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
		if snippet := strings.TrimRight(readSnippet(t, e.Name()), "\n"); !slices.Contains(blocks, snippet) {
			t.Errorf("readme.md has no fenced block with exactly the content of %s/%s (the configuration the end-to-end tests run); put this in readme.md:\n%s",
				readmeDir, e.Name(), snippet)
		}
	}
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
