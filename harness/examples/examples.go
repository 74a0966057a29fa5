// Package examples decodes the repository's examples/ with Traefik's own
// parsers and returns the plugin options each gives a middleware.
package examples

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"

	"github.com/mitchellh/mapstructure"
	"github.com/traefik/paerser/file"
	"github.com/traefik/paerser/flag"
	"github.com/traefik/paerser/parser"
	"gopkg.in/yaml.v3"

	authgear "github.com/traefik-authgear/traefik-authgear"
	"github.com/traefik-authgear/traefik-authgear/harness/internal/harness"
)

// PluginConf is Traefik's dynamic.PluginConf: one plugin's options.
type PluginConf map[string]any

// Dynamic is the part of Traefik's dynamic configuration the examples use.
type Dynamic struct {
	HTTP *struct {
		Routers map[string]*struct {
			Rule        string   `json:"rule,omitempty"`
			EntryPoints []string `json:"entryPoints,omitempty"`
			Middlewares []string `json:"middlewares,omitempty"`
			Service     string   `json:"service,omitempty"`
		} `json:"routers,omitempty"`
		Middlewares map[string]*struct {
			Plugin map[string]PluginConf `json:"plugin,omitempty"`
		} `json:"middlewares,omitempty"`
		Services map[string]*struct {
			LoadBalancer *struct {
				Servers []struct {
					URL string `json:"url,omitempty"`
				} `json:"servers,omitempty"`
			} `json:"loadBalancer,omitempty"`
		} `json:"services,omitempty"`
	} `json:"http,omitempty"`
}

// Static mirrors the part of Traefik's static configuration the examples use.
type Static struct {
	EntryPoints map[string]*struct {
		Address string `json:"address,omitempty"`
	} `json:"entryPoints,omitempty"`
	Providers *struct {
		Docker *struct {
			ExposedByDefault bool `json:"exposedByDefault,omitempty"`
		} `json:"docker,omitempty"`
		File *struct {
			Directory string `json:"directory,omitempty"`
			Watch     bool   `json:"watch,omitempty"`
		} `json:"file,omitempty"`
	} `json:"providers,omitempty"`
	Experimental *struct {
		Plugins map[string]struct {
			ModuleName string `json:"moduleName,omitempty"`
			Version    string `json:"version,omitempty"`
		} `json:"plugins,omitempty"`
		LocalPlugins map[string]struct {
			ModuleName string `json:"moduleName,omitempty"`
		} `json:"localPlugins,omitempty"`
	} `json:"experimental,omitempty"`
}

// Dir returns the examples folder.
func Dir() (string, error) {
	root, err := harness.RepoRoot()
	if err != nil {
		return "", err
	}
	return filepath.Join(root, "examples"), nil
}

// Compose is the part of a Docker Compose file the examples use.
type Compose struct {
	Services map[string]struct {
		Image   string   `yaml:"image"`
		Command []string `yaml:"command"`
		Labels  []string `yaml:"labels"`
	} `yaml:"services"`
}

// interpolation is Compose's ${NAME:-default}.
var interpolation = regexp.MustCompile(`\$\{[A-Za-z_][A-Za-z0-9_]*:-([^}]*)\}`)

// LoadCompose reads examples/docker/docker-compose.yml, variables defaulted.
func LoadCompose() (Compose, error) {
	dir, err := Dir()
	if err != nil {
		return Compose{}, err
	}
	data, err := os.ReadFile(filepath.Join(dir, "docker", "docker-compose.yml"))
	if err != nil {
		return Compose{}, err
	}
	var c Compose
	err = yaml.Unmarshal([]byte(interpolation.ReplaceAllString(string(data), "$1")), &c)
	return c, err
}

// DecodeLabels decodes container labels as Traefik's Docker provider does.
func DecodeLabels(labels []string) (*Dynamic, error) {
	m := map[string]string{}
	for _, l := range labels {
		k, v, ok := strings.Cut(l, "=")
		if !ok {
			return nil, fmt.Errorf("label %q has no '='", l)
		}
		m[k] = v
	}
	d := &Dynamic{}
	return d, parser.Decode(m, d, parser.DefaultRootName, "traefik.http")
}

// DecodeFlags decodes Traefik command-line flags as Traefik does.
func DecodeFlags(args []string) (*Static, error) {
	s := &Static{}
	return s, flag.Decode(args, s)
}

// Middlewares returns the authgear plugin options of every middleware of d.
func (d *Dynamic) Middlewares() map[string]PluginConf {
	out := map[string]PluginConf{}
	if d.HTTP == nil {
		return out
	}
	for name, mw := range d.HTTP.Middlewares {
		if conf, ok := mw.Plugin[harness.PluginName]; ok {
			out[name] = conf
		}
	}
	return out
}

// Decode turns plugin options into a Config as Traefik's pkg/plugins does.
func Decode(options PluginConf) (*authgear.Config, error) {
	cfg := authgear.CreateConfig()
	dec, err := mapstructure.NewDecoder(&mapstructure.DecoderConfig{
		DecodeHook:       mapstructure.StringToSliceHookFunc(","),
		WeaklyTypedInput: true,
		Result:           cfg,
	})
	if err != nil {
		return nil, err
	}
	return cfg, dec.Decode(map[string]any(options))
}

// Ready replaces what only a deployment has (a /run/secrets file, a
// Kubernetes Secret reference) by stand-ins, a secret file written in dir.
func Ready(opts PluginConf, dir string) (PluginConf, error) {
	out := maps.Clone(opts)
	if f, ok := out["webhookSecretFile"].(string); ok && strings.HasPrefix(f, "/run/secrets/") {
		path := filepath.Join(dir, "webhook-secret")
		if err := os.WriteFile(path, []byte("example-secret\n"), 0o600); err != nil {
			return nil, err
		}
		out["webhookSecretFile"] = path
	}
	if s, ok := out["webhookSecret"].(string); ok && strings.HasPrefix(s, "urn:k8s:secret:") {
		out["webhookSecret"] = "example-secret"
	}
	return out, nil
}

// All returns every example middleware's options by "<example>/<middleware>".
func All() (map[string]PluginConf, error) {
	out := map[string]PluginConf{}
	c, err := LoadCompose()
	if err != nil {
		return nil, err
	}
	d, err := DecodeLabels(c.Services["whoami"].Labels)
	if err != nil {
		return nil, err
	}
	for name, opts := range d.Middlewares() {
		out["docker/"+name] = opts
	}
	dir, err := Dir()
	if err != nil {
		return nil, err
	}
	dynamic := &Dynamic{}
	if err := file.Decode(filepath.Join(dir, "static", "dynamic.yml"), dynamic); err != nil {
		return nil, err
	}
	for name, opts := range dynamic.Middlewares() {
		out["static/"+name] = opts
	}
	docs, err := LoadManifests(filepath.Join(dir, "kubernetes", "middleware.yaml"))
	if err != nil {
		return nil, err
	}
	for _, doc := range docs {
		if opts, ok := Dig(doc, "spec", "plugin", harness.PluginName).(map[string]any); ok {
			out["kubernetes/"+fmt.Sprint(Dig(doc, "metadata", "name"))] = opts
		}
	}
	return out, nil
}

// The CRDs of the Traefik the tests run, in its module source.
const (
	traefikVersion = "v3.6.12"
	crdFile        = "docs/content/reference/dynamic-configuration/kubernetes-crd-definition-v1.yml"
)

// LoadManifests reads every document of a Kubernetes YAML file.
func LoadManifests(path string) ([]map[string]any, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var docs []map[string]any
	for dec := yaml.NewDecoder(bytes.NewReader(data)); ; {
		var doc map[string]any
		if err := dec.Decode(&doc); errors.Is(err, io.EOF) {
			return docs, nil
		} else if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		} else if doc != nil {
			docs = append(docs, doc)
		}
	}
}

// CRDSchemas returns the openAPIV3Schema of each kind of Traefik's CRDs.
func CRDSchemas() (map[string]map[string]any, error) {
	cmd := exec.Command("go", "mod", "download", "-json", "github.com/traefik/traefik/v3@"+traefikVersion)
	cmd.Dir = os.TempDir() // outside any module
	cmd.Env = append(os.Environ(), "GOFLAGS=-mod=mod", "GO111MODULE=on")
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("go mod download traefik %s: %w", traefikVersion, err)
	}
	var mod struct{ Dir string }
	if err := json.Unmarshal(out, &mod); err != nil || mod.Dir == "" {
		return nil, fmt.Errorf("go mod download traefik %s: no Dir in %q", traefikVersion, out)
	}
	docs, err := LoadManifests(filepath.Join(mod.Dir, crdFile))
	if err != nil {
		return nil, err
	}
	schemas := map[string]map[string]any{}
	for _, d := range docs {
		versions, _ := Dig(d, "spec", "versions").([]any)
		for _, v := range versions {
			if s, ok := Dig(v, "schema", "openAPIV3Schema").(map[string]any); ok && Dig(v, "name") == "v1alpha1" {
				schemas[fmt.Sprint(Dig(d, "spec", "names", "kind"))] = s
			}
		}
	}
	return schemas, nil
}

// Dig is v's value at the path of map keys; nil where there is none.
func Dig(v any, path ...string) any {
	for _, k := range path {
		m, _ := v.(map[string]any)
		v = m[k]
	}
	return v
}

// Validate returns every mismatch of value with an OpenAPI v3 schema in the
// API server's structural checks the examples need: types, known and
// required properties, array items.
func Validate(path string, value any, schema map[string]any) []string {
	var errs []string
	if schema["x-kubernetes-preserve-unknown-fields"] == true && schema["properties"] == nil {
		return nil
	}
	switch schema["type"] {
	case "object":
		obj, ok := value.(map[string]any)
		if !ok {
			return []string{fmt.Sprintf("%s: want an object, got %T", path, value)}
		}
		props, _ := schema["properties"].(map[string]any)
		extra, _ := schema["additionalProperties"].(map[string]any)
		for _, k := range slices.Sorted(maps.Keys(obj)) {
			if sub, ok := props[k].(map[string]any); ok {
				errs = append(errs, Validate(path+"."+k, obj[k], sub)...)
			} else if extra != nil {
				errs = append(errs, Validate(path+"."+k, obj[k], extra)...)
			} else if props != nil && schema["x-kubernetes-preserve-unknown-fields"] != true {
				errs = append(errs, fmt.Sprintf("%s: unknown field %q", path, k))
			}
		}
		req, _ := schema["required"].([]any)
		for _, r := range req {
			if _, ok := obj[r.(string)]; !ok {
				errs = append(errs, fmt.Sprintf("%s: missing required field %q", path, r))
			}
		}
	case "array":
		arr, ok := value.([]any)
		if !ok {
			return []string{fmt.Sprintf("%s: want an array, got %T", path, value)}
		}
		items, _ := schema["items"].(map[string]any)
		for i, v := range arr {
			errs = append(errs, Validate(fmt.Sprintf("%s[%d]", path, i), v, items)...)
		}
	case "string", "boolean", "integer":
		if got := map[string]string{"string": "string", "bool": "boolean", "int": "integer"}[fmt.Sprintf("%T", value)]; got != schema["type"] {
			errs = append(errs, fmt.Sprintf("%s: want a %s, got %T", path, schema["type"], value))
		}
	}
	return errs
}
