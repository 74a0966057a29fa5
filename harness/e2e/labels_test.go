package e2e

import (
	"fmt"
	"reflect"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/traefik-authgear/traefik-authgear/harness/examples"
)

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

// parseYAML parses one document, every scalar as its string (as labels give
// them), so that file and label snippets compare value for value; nil for an
// empty one.
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
		return v
	case []any:
		for i, e := range v {
			v[i] = stringScalars(e)
		}
		return v
	case nil:
		return nil
	default:
		return fmt.Sprint(v)
	}
}

// emitYAML renders v as YAML, quoting strings that would read as another
// type.
func emitYAML(v any) string {
	out, err := yaml.Marshal(v)
	if err != nil {
		panic(err)
	}
	return string(out)
}
