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
	"slices"

	"gopkg.in/yaml.v3"
)

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
