package e2e

import (
	"fmt"

	"gopkg.in/yaml.v3"
)

// The README checks read the snippets with gopkg.in/yaml.v3, every scalar
// turned into its string: Docker labels deliver every value as a string, and
// the checks compare the file-provider and label snippets value for value.

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
