package e2e

import (
	"fmt"
	"reflect"
	"strings"
	"testing"
)

// The module has no dependencies, so the README checks read the snippets with
// this small YAML reader. It knows block mappings and sequences, plain and
// quoted scalars, flow sequences of scalars, "{}", comments and "---"
// documents: enough for configuration snippets. Every scalar is a string.

// yamlLine is one non-blank, non-comment line.
type yamlLine struct {
	n      int // 1-based line number, for errors
	indent int
	text   string // without indentation and trailing comment
}

// parseYAMLDocs parses a stream of "---"-separated documents.
func parseYAMLDocs(src string) ([]any, error) {
	var docs []any
	for _, part := range splitDocs(src) {
		doc, err := parseYAML(part)
		if err != nil {
			return nil, err
		}
		if doc != nil {
			docs = append(docs, doc)
		}
	}
	return docs, nil
}

// splitDocs splits src at lines that are exactly "---".
func splitDocs(src string) []string {
	var docs []string
	var cur []string
	for _, l := range strings.Split(src, "\n") {
		if strings.TrimRight(l, " ") == "---" {
			docs = append(docs, strings.Join(cur, "\n"))
			cur = nil
			continue
		}
		cur = append(cur, l)
	}
	return append(docs, strings.Join(cur, "\n"))
}

// parseYAML parses one document; nil for an empty one.
func parseYAML(src string) (any, error) {
	var lines []yamlLine
	for i, raw := range strings.Split(src, "\n") {
		if strings.Contains(raw, "\t") {
			return nil, fmt.Errorf("line %d: tab in YAML", i+1)
		}
		text := strings.TrimLeft(raw, " ")
		text = strings.TrimRight(stripComment(text), " ")
		if text == "" {
			continue
		}
		lines = append(lines, yamlLine{n: i + 1, indent: len(raw) - len(strings.TrimLeft(raw, " ")), text: text})
	}
	if len(lines) == 0 {
		return nil, nil
	}
	p := &yamlParser{lines: lines}
	v, err := p.node(lines[0].indent)
	if err != nil {
		return nil, err
	}
	if p.i < len(p.lines) {
		return nil, fmt.Errorf("line %d: unexpected indentation", p.lines[p.i].n)
	}
	return v, nil
}

// stripComment removes a " #" comment outside quotes.
func stripComment(s string) string {
	if strings.HasPrefix(s, "#") {
		return ""
	}
	var quote byte
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case quote != 0:
			if c == quote {
				quote = 0
			}
		case c == '"' || c == '\'':
			quote = c
		case c == '#' && i > 0 && s[i-1] == ' ':
			return s[:i]
		}
	}
	return s
}

type yamlParser struct {
	lines []yamlLine
	i     int
}

// node parses the mapping or sequence whose lines start at indent.
func (p *yamlParser) node(indent int) (any, error) {
	if isSeqItem(p.lines[p.i].text) {
		return p.seq(indent)
	}
	return p.mapping(indent)
}

func isSeqItem(text string) bool { return text == "-" || strings.HasPrefix(text, "- ") }

func (p *yamlParser) mapping(indent int) (map[string]any, error) {
	m := map[string]any{}
	for p.i < len(p.lines) && p.lines[p.i].indent == indent && !isSeqItem(p.lines[p.i].text) {
		l := p.lines[p.i]
		key, rest, ok := splitKey(l.text)
		if !ok {
			return nil, fmt.Errorf("line %d: want key: value, got %q", l.n, l.text)
		}
		if _, dup := m[key]; dup {
			return nil, fmt.Errorf("line %d: duplicate key %q", l.n, key)
		}
		p.i++
		if rest != "" {
			v, err := scalar(rest)
			if err != nil {
				return nil, fmt.Errorf("line %d: %w", l.n, err)
			}
			m[key] = v
			continue
		}
		switch {
		case p.i < len(p.lines) && p.lines[p.i].indent > indent:
			v, err := p.node(p.lines[p.i].indent)
			if err != nil {
				return nil, err
			}
			m[key] = v
		case p.i < len(p.lines) && p.lines[p.i].indent == indent && isSeqItem(p.lines[p.i].text):
			v, err := p.seq(indent)
			if err != nil {
				return nil, err
			}
			m[key] = v
		default:
			m[key] = ""
		}
	}
	return m, nil
}

func (p *yamlParser) seq(indent int) ([]any, error) {
	var s []any
	for p.i < len(p.lines) && p.lines[p.i].indent == indent && isSeqItem(p.lines[p.i].text) {
		l := p.lines[p.i]
		rest := strings.TrimLeft(strings.TrimPrefix(l.text, "-"), " ")
		if rest == "" {
			p.i++
			if p.i < len(p.lines) && p.lines[p.i].indent > indent {
				v, err := p.node(p.lines[p.i].indent)
				if err != nil {
					return nil, err
				}
				s = append(s, v)
			} else {
				s = append(s, "")
			}
			continue
		}
		if _, _, isMap := splitKey(rest); isMap || isSeqItem(rest) {
			// "- key: value": the item is a block starting at rest's column.
			p.lines[p.i] = yamlLine{n: l.n, indent: indent + len(l.text) - len(rest), text: rest}
			v, err := p.node(p.lines[p.i].indent)
			if err != nil {
				return nil, err
			}
			s = append(s, v)
			continue
		}
		v, err := scalar(rest)
		if err != nil {
			return nil, fmt.Errorf("line %d: %w", l.n, err)
		}
		s = append(s, v)
		p.i++
	}
	return s, nil
}

// splitKey splits "key: value" or "key:"; quoted scalars are not keys.
func splitKey(text string) (key, rest string, ok bool) {
	if strings.HasPrefix(text, `"`) || strings.HasPrefix(text, "'") || strings.HasPrefix(text, "[") {
		return "", "", false
	}
	if k, ok := strings.CutSuffix(text, ":"); ok && !strings.Contains(k, ": ") {
		return k, "", true
	}
	k, r, ok := strings.Cut(text, ": ")
	if !ok || strings.ContainsAny(k, "`") {
		return "", "", false
	}
	return k, strings.TrimSpace(r), true
}

// scalar reads a plain, quoted or flow value.
func scalar(s string) (any, error) {
	switch {
	case s == "{}":
		return map[string]any{}, nil
	case strings.HasPrefix(s, "["):
		inner, ok := strings.CutSuffix(s[1:], "]")
		if !ok {
			return nil, fmt.Errorf("unterminated flow sequence %q", s)
		}
		out := []any{}
		if strings.TrimSpace(inner) == "" {
			return out, nil
		}
		for _, item := range strings.Split(inner, ",") {
			v, err := scalar(strings.TrimSpace(item))
			if err != nil {
				return nil, err
			}
			out = append(out, v)
		}
		return out, nil
	case strings.HasPrefix(s, `"`):
		if len(s) < 2 || !strings.HasSuffix(s, `"`) {
			return nil, fmt.Errorf("unterminated string %s", s)
		}
		return strings.NewReplacer(`\"`, `"`, `\\`, `\`).Replace(s[1 : len(s)-1]), nil
	case strings.HasPrefix(s, "'"):
		if len(s) < 2 || !strings.HasSuffix(s, "'") {
			return nil, fmt.Errorf("unterminated string %s", s)
		}
		return strings.ReplaceAll(s[1:len(s)-1], "''", "'"), nil
	}
	return s, nil
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

func TestParseYAML(t *testing.T) {
	src := `# comment
a:
  b: "x: y" # trailing
  c: 'it''s'
  list:
  - one
  - k: v
    k2: v2
  flow: [p, "q"]
  empty: {}
  rule: Host(` + "`a.b`" + `)
---
kind: Second
`
	docs, err := parseYAMLDocs(src)
	if err != nil {
		t.Fatal(err)
	}
	want := []any{
		map[string]any{"a": map[string]any{
			"b":     "x: y",
			"c":     "it's",
			"list":  []any{"one", map[string]any{"k": "v", "k2": "v2"}},
			"flow":  []any{"p", "q"},
			"empty": map[string]any{},
			"rule":  "Host(`a.b`)",
		}},
		map[string]any{"kind": "Second"},
	}
	if !reflect.DeepEqual(docs, want) {
		t.Errorf("parseYAMLDocs = %#v\nwant %#v", docs, want)
	}
	for _, bad := range []string{"a:\n\tb: 1\n", "a: 1\na: 2\n", "a: \"open\n", "a:\n    b: 1\n  c: 2\n"} {
		if _, err := parseYAML(bad); err == nil {
			t.Errorf("parseYAML(%q) succeeded", bad)
		}
	}
}
