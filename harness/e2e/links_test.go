package e2e

import (
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"unicode"

	"github.com/traefik-authgear/traefik-authgear/harness/internal/harness"
)

// repoURL is the repository's address on GitHub, from the module path: the
// plugin catalog renders readme.md outside the repository, so the README
// reaches docs/ through absolute links that start with it.
const repoURL = "https://" + harness.PluginModule + "/"

// TestMarkdownLinks: no link or anchor in the repository's Markdown is
// broken. Relative links must name an existing file or folder (and, into a
// Markdown file, an existing heading), absolute links into this repository
// an existing path on main, and readme.md may link only absolutely (or to
// its own headings), since the catalog shows it away from its folder.
func TestMarkdownLinks(t *testing.T) {
	root, err := harness.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	files, err := markdownFiles(root)
	if err != nil {
		t.Fatal(err)
	}
	for _, required := range []string{"readme.md", "CHANGELOG.md"} {
		if !slices.Contains(files, required) {
			t.Errorf("%s is missing: the link check has nothing to read there", required)
		}
	}
	for _, problem := range newLinkChecker(root).check(files) {
		t.Error(problem)
	}
}

// TestLinkCheckerFindsBrokenLinks: the checker above reports each kind of
// broken link in a small tree of its own, and nothing in a correct one.
func TestLinkCheckerFindsBrokenLinks(t *testing.T) {
	good := map[string]string{
		"readme.md": "# Title\n\n## Caching: the trade-off\n\nSee [caching](#caching-the-trade-off), " +
			"[the docs](" + repoURL + "blob/main/docs/a.md#the-no_session-case), [a folder](" + repoURL + "tree/main/docs) " +
			"and [elsewhere](https://example.com/x.md#nowhere).\n\n```md\n[not a link](missing.md)\n```\n",
		"docs/a.md": "# A\n\n### The `no_session` case\n\n## Twice\n\n## Twice\n\nBack to [b](b.md#twice-1), [top](../readme.md#title).\n\n" +
			"  ```\n  ## Not a heading\n  ```\n",
		"docs/b.md": "Setext heading\n==============\n\n## Twice\n\n## Twice\n\n[a](./a.md#twice-1) [self](#setext-heading)\n",
	}
	tests := []struct {
		name, file, text, want string
	}{
		{"missing file", "docs/b.md", "[x](c.md)", `"c.md": no such file`},
		{"missing anchor", "docs/b.md", "[x](a.md#nope)", `"a.md#nope": no heading`},
		{"duplicate heading past its count", "docs/b.md", "[x](a.md#twice-2)", `no heading`},
		{"own anchor", "docs/b.md", "[x](#twice-3)", `"#twice-3": no heading`},
		{"relative link in the README", "readme.md", "[x](docs/a.md)", "relative"},
		{"absolute link to a missing file", "readme.md", "[x](" + repoURL + "blob/main/docs/c.md)", "no such file"},
		{"absolute link to a missing anchor", "readme.md", "<" + repoURL + "blob/main/docs/a.md#twice-5>", "no heading"},
		{"absolute link off main", "readme.md", "[x](" + repoURL + "blob/v0.1.0/docs/a.md)", "main"},
		{"bare absolute link in a code block", "docs/a.md", "```json\n{\"type\":\"" + repoURL + "blob/main/docs/b.md#nope\"}\n```", "no heading"},
		{"reference definition", "docs/a.md", "[x]: missing.md", `"missing.md": no such file`},
		{"out of the repository", "docs/a.md", "[x](../../etc/passwd)", "outside"},
	}
	if problems := checkTree(t, good); len(problems) != 0 {
		t.Fatalf("a correct tree: %q", problems)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tree := map[string]string{}
			for k, v := range good {
				tree[k] = v
			}
			tree[tt.file] += "\n" + tt.text + "\n"
			problems := checkTree(t, tree)
			if len(problems) != 1 || !strings.Contains(problems[0], tt.want) {
				t.Errorf("problems %q, want one containing %q", problems, tt.want)
			}
		})
	}
}

// checkTree writes files into a temporary folder and checks their links.
func checkTree(t *testing.T, files map[string]string) []string {
	t.Helper()
	root := t.TempDir()
	for name, text := range files {
		p := filepath.Join(root, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	names, err := markdownFiles(root)
	if err != nil {
		t.Fatal(err)
	}
	return newLinkChecker(root).check(names)
}

// TestGitHubAnchor: headings become the anchors GitHub gives them.
func TestGitHubAnchor(t *testing.T) {
	for _, tt := range []struct{ heading, want string }{
		{"Caching: the trade-off", "caching-the-trade-off"},
		{"What it does, request by request", "what-it-does-request-by-request"},
		{"`no_session`", "no_session"},
		{"Per-request path: compiled vs Yaegi", "per-request-path-compiled-vs-yaegi"},
		{"[Unreleased]", "unreleased"},
		{"[0.1.0] - 2026-12-01", "010---2026-12-01"},
		{"Memory per **cached** session (≤ 1 KiB)", "memory-per-cached-session--1-kib"},
		{"See [Policies](docs/policies.md) now", "see-policies-now"},
		{"Ünïcode × 2", "ünïcode--2"},
	} {
		if got := githubAnchor(tt.heading); got != tt.want {
			t.Errorf("githubAnchor(%q) = %q, want %q", tt.heading, got, tt.want)
		}
	}
}

// markdownFiles lists the repository's Markdown files, slash-separated and
// relative to root, leaving out hidden folders (.git, .github's caches).
func markdownFiles(root string) ([]string, error) {
	var files []string
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && p != root && strings.HasPrefix(d.Name(), ".") {
			return filepath.SkipDir
		}
		if !d.IsDir() && strings.HasSuffix(strings.ToLower(d.Name()), ".md") {
			rel, err := filepath.Rel(root, p)
			if err != nil {
				return err
			}
			files = append(files, filepath.ToSlash(rel))
		}
		return nil
	})
	return files, err
}

// linkChecker checks the links of the Markdown files under root, reading
// each linked file's anchors once.
type linkChecker struct {
	root    string
	anchors map[string]map[string]bool // slash path -> anchors of its headings
}

func newLinkChecker(root string) *linkChecker {
	return &linkChecker{root: root, anchors: map[string]map[string]bool{}}
}

var (
	// inlineLinkRE matches an inline link's or image's destination, angle
	// brackets and title left out: [text](dest "title").
	inlineLinkRE = regexp.MustCompile(`\]\(\s*<?([^()\s<>]*)>?(?:\s+"[^"]*")?\s*\)`)
	// referenceRE matches a link reference definition: [label]: dest.
	referenceRE = regexp.MustCompile(`^ {0,3}\[[^\]]+\]:\s+<?([^\s>]+)>?`)
	// repoLinkRE matches a link into this repository on GitHub, anywhere
	// (code blocks included: the problem types the plugin sends are such links).
	repoLinkRE = regexp.MustCompile(regexp.QuoteMeta(repoURL) + `(blob|tree)/([^/\s]+)/([^\s)>"'\]` + "`" + `]*)`)
	// codeSpanRE matches an inline code span, whose text is not Markdown.
	codeSpanRE = regexp.MustCompile("(`+)[^`]*?(`+)")
)

// check returns every problem of files' links, "file:line: ..." each.
func (c *linkChecker) check(files []string) []string {
	var problems []string
	for _, file := range files {
		data, err := os.ReadFile(filepath.Join(c.root, filepath.FromSlash(file)))
		if err != nil {
			problems = append(problems, err.Error())
			continue
		}
		for _, l := range markdownLines(string(data)) {
			for _, p := range c.lineProblems(file, l) {
				problems = append(problems, fmt.Sprintf("%s:%d: %s", file, l.number, p))
			}
		}
	}
	return problems
}

// lineProblems checks one line's links: Markdown links outside code, and
// links into this repository anywhere (autolinks and bare URLs included).
func (c *linkChecker) lineProblems(file string, l mdLine) []string {
	var problems []string
	var dests []string
	if !l.code {
		text := codeSpanRE.ReplaceAllString(l.text, "")
		for _, m := range inlineLinkRE.FindAllStringSubmatch(text, -1) {
			dests = append(dests, m[1])
		}
		if m := referenceRE.FindStringSubmatch(text); m != nil {
			dests = append(dests, m[1])
		}
	}
	for _, dest := range dests {
		if strings.Contains(dest, "://") || strings.HasPrefix(dest, "mailto:") || dest == "" {
			continue // absolute: this repository's links are checked below
		}
		if p := c.relativeProblem(file, dest); p != "" {
			problems = append(problems, p)
		}
	}
	for _, m := range repoLinkRE.FindAllStringSubmatch(l.text, -1) {
		if p := c.repoLinkProblem(m[0], m[1], m[2], m[3]); p != "" {
			problems = append(problems, p)
		}
	}
	return problems
}

// relativeProblem checks a relative link of file: a path from file's folder
// (or from the repository's root when it starts with "/") and an anchor.
func (c *linkChecker) relativeProblem(file, dest string) string {
	target, fragment, _ := strings.Cut(dest, "#")
	target, _, _ = strings.Cut(target, "?")
	if target == "" {
		return c.anchorProblem(file, fragment, dest)
	}
	if file == "readme.md" {
		return fmt.Sprintf("link %q is relative: the plugin catalog shows the README outside the repository, so link to %sblob/main/... instead", dest, repoURL)
	}
	unescaped, err := url.PathUnescape(target)
	if err != nil {
		return fmt.Sprintf("link %q: %v", dest, err)
	}
	resolved := path.Join(path.Dir(file), unescaped)
	if strings.HasPrefix(unescaped, "/") {
		resolved = path.Clean(strings.TrimPrefix(unescaped, "/"))
	}
	return c.pathProblem(resolved, fragment, dest)
}

// repoLinkProblem checks an absolute link into this repository: on main,
// to an existing file (blob) or folder (tree), and an existing anchor.
func (c *linkChecker) repoLinkProblem(link, kind, ref, rest string) string {
	rest = strings.TrimRight(rest, ".,;:")
	if rest == "" {
		return "" // the address's form, as prose gives it: ".../blob/main/..."
	}
	if ref != "main" {
		return fmt.Sprintf("link %q names %q: link to main, the branch the catalog and readers see", link, ref)
	}
	target, fragment, _ := strings.Cut(rest, "#")
	target, _, _ = strings.Cut(target, "?")
	unescaped, err := url.PathUnescape(target)
	if err != nil {
		return fmt.Sprintf("link %q: %v", link, err)
	}
	resolved := path.Clean(strings.TrimSuffix(unescaped, "/"))
	if p := c.pathProblem(resolved, fragment, link); p != "" {
		return p
	}
	if info, err := os.Stat(filepath.Join(c.root, filepath.FromSlash(resolved))); err == nil && info.IsDir() != (kind == "tree") {
		return fmt.Sprintf("link %q: %s is a %s, the link says %s", link, resolved, map[bool]string{true: "folder", false: "file"}[info.IsDir()], kind)
	}
	return ""
}

// pathProblem checks that resolved (slash-separated, from the root) exists
// inside the repository and, for a Markdown file, has the anchor fragment.
func (c *linkChecker) pathProblem(resolved, fragment, dest string) string {
	if resolved == ".." || strings.HasPrefix(resolved, "../") {
		return fmt.Sprintf("link %q points outside the repository", dest)
	}
	if _, err := os.Stat(filepath.Join(c.root, filepath.FromSlash(resolved))); err != nil {
		return fmt.Sprintf("link %q: no such file %s", dest, resolved)
	}
	if fragment == "" || !strings.HasSuffix(strings.ToLower(resolved), ".md") {
		return ""
	}
	return c.anchorProblem(resolved, fragment, dest)
}

// anchorProblem checks that the Markdown file (slash path) has the anchor.
func (c *linkChecker) anchorProblem(file, fragment, dest string) string {
	if fragment == "" {
		return ""
	}
	anchors, ok := c.anchors[file]
	if !ok {
		data, err := os.ReadFile(filepath.Join(c.root, filepath.FromSlash(file)))
		if err != nil {
			return fmt.Sprintf("link %q: %v", dest, err)
		}
		anchors = headingAnchors(string(data))
		c.anchors[file] = anchors
	}
	decoded, err := url.PathUnescape(fragment)
	if err != nil {
		decoded = fragment
	}
	if !anchors[strings.ToLower(decoded)] {
		return fmt.Sprintf("link %q: no heading in %s has the anchor #%s", dest, file, decoded)
	}
	return ""
}

// mdLine is one line of a Markdown file, and whether a fenced code block
// holds it.
type mdLine struct {
	number int
	text   string
	code   bool
}

// markdownLines splits md into lines, marking those inside fenced code
// blocks (``` or ~~~, at any indentation, closed by a fence of the same
// character at least as long) and the fences themselves.
func markdownLines(md string) []mdLine {
	var lines []mdLine
	fence := ""
	for i, text := range strings.Split(md, "\n") {
		text = strings.TrimRight(text, "\r")
		trimmed := strings.TrimSpace(text)
		opens := strings.HasPrefix(trimmed, "```") || strings.HasPrefix(trimmed, "~~~")
		switch {
		case fence == "" && opens:
			fence = trimmed[:len(trimmed)-len(strings.TrimLeft(trimmed, trimmed[:1]))]
			lines = append(lines, mdLine{i + 1, text, true})
		case fence != "":
			if strings.HasPrefix(trimmed, fence) && strings.Trim(trimmed, fence[:1]) == "" {
				fence = ""
			}
			lines = append(lines, mdLine{i + 1, text, true})
		default:
			lines = append(lines, mdLine{i + 1, text, false})
		}
	}
	return lines
}

var (
	// atxHeadingRE matches "## Heading", closing hashes left out.
	atxHeadingRE = regexp.MustCompile(`^ {0,3}#{1,6}(?:\s+(.*?))?(?:\s+#+)?\s*$`)
	// setextUnderlineRE matches the line under a setext heading.
	setextUnderlineRE = regexp.MustCompile(`^ {0,3}(=+|-+)\s*$`)
	// htmlAnchorRE matches an HTML anchor: <a name="x"> or <a id="x">.
	htmlAnchorRE = regexp.MustCompile(`<a\s+(?:name|id)="([^"]+)"`)
)

// headingAnchors returns the anchors GitHub gives md's headings (outside
// code blocks), with -1, -2 ... for repeated ones, and its HTML anchors.
func headingAnchors(md string) map[string]bool {
	anchors := map[string]bool{}
	counts := map[string]int{}
	add := func(heading string) {
		base := githubAnchor(heading)
		anchor := base
		for anchors[anchor] {
			counts[base]++
			anchor = fmt.Sprintf("%s-%d", base, counts[base])
		}
		anchors[anchor] = true
	}
	lines := markdownLines(md)
	for i, l := range lines {
		if l.code {
			continue
		}
		if m := atxHeadingRE.FindStringSubmatch(l.text); m != nil {
			add(m[1])
			continue
		}
		if i > 0 && setextUnderlineRE.MatchString(l.text) && isParagraphLine(lines[i-1]) {
			add(lines[i-1].text)
		}
		for _, m := range htmlAnchorRE.FindAllStringSubmatch(l.text, -1) {
			anchors[strings.ToLower(m[1])] = true
		}
	}
	return anchors
}

// isParagraphLine tells whether l could be the text of a setext heading:
// not code, blank, a heading, a list item, a quote or a table row.
func isParagraphLine(l mdLine) bool {
	trimmed := strings.TrimSpace(l.text)
	return !l.code && trimmed != "" && !atxHeadingRE.MatchString(l.text) &&
		!strings.ContainsAny(trimmed[:1], "-*+>|") && !setextUnderlineRE.MatchString(l.text)
}

var (
	// markdownLinkRE matches a link or image, to keep its text only.
	markdownLinkRE = regexp.MustCompile(`!?\[([^\]]*)\]\([^)]*\)`)
	// htmlTagRE matches an HTML tag, which GitHub's anchor leaves out.
	htmlTagRE = regexp.MustCompile(`<[^>]+>`)
)

// githubAnchor returns the anchor GitHub gives a heading: its text (links
// as their text, HTML tags dropped) lower-cased, every character but
// letters, digits, '-', '_' and spaces removed, and spaces turned into '-'.
func githubAnchor(heading string) string {
	text := htmlTagRE.ReplaceAllString(markdownLinkRE.ReplaceAllString(strings.TrimSpace(heading), "$1"), "")
	var b strings.Builder
	for _, r := range strings.ToLower(text) {
		switch {
		case r == ' ':
			b.WriteByte('-')
		case r == '-' || r == '_' || unicode.IsLetter(r) || unicode.IsNumber(r) || unicode.Is(unicode.Mn, r):
			b.WriteRune(r)
		}
	}
	return b.String()
}
