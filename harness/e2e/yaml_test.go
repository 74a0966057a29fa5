package e2e

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"

	"gopkg.in/yaml.v3"
)

// The README checks read the snippets with gopkg.in/yaml.v3, every scalar
// turned into its string: Docker labels deliver every value as a string, and
// the checks compare the file-provider and label snippets value for value.

// parseYAMLDocs parses a stream of "---"-separated documents.
func parseYAMLDocs(src string) ([]any, error) {
	dec := yaml.NewDecoder(bytes.NewReader([]byte(src)))
	var docs []any
	for {
		var doc any
		err := dec.Decode(&doc)
		if errors.Is(err, io.EOF) {
			return docs, nil
		}
		if err != nil {
			return nil, err
		}
		if doc != nil {
			docs = append(docs, stringScalars(doc))
		}
	}
}

// parseYAML parses one document; nil for an empty one.
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

// emitYAML renders v as block YAML; strings that would read as another type
// are quoted, so every value reaches Traefik as the string it is, as Docker
// labels deliver it.
func emitYAML(v any) string {
	out, err := yaml.Marshal(v)
	if err != nil {
		panic(err) // maps, slices and strings always marshal
	}
	return string(out)
}

// lookup follows a path of mapping keys.
func lookup(v any, path ...string) (any, error) {
	for i, k := range path {
		m, ok := v.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("%s is not a mapping", strings.Join(path[:i], "."))
		}
		if v, ok = m[k]; !ok {
			return nil, fmt.Errorf("no %s", strings.Join(path[:i+1], "."))
		}
	}
	return v, nil
}
