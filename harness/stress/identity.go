package main

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"sort"
	"strings"

	"github.com/traefik-authgear/traefik-authgear/harness/internal/harness"
	"github.com/traefik-authgear/traefik-authgear/harness/internal/standin"
)

// publicHost is the Authgear app's public host in testdata/users.json.
const publicHost = "auth.example.test"

// forgedName reports whether a backend that lower-cases header names and
// reads "_" as "-" (CGI, WSGI, PHP, Rack) takes name for an identity header.
func forgedName(name string) bool {
	return strings.HasPrefix(normName(name), "x-authgear-")
}

// normName is a header name as such a backend reads it.
func normName(name string) string {
	b := []byte(name)
	for i, c := range b {
		switch {
		case c >= 'A' && c <= 'Z':
			b[i] = c + ('a' - 'A')
		case c == '_':
			b[i] = '-'
		}
	}
	return string(b)
}

// identitySummary renders the identity headers (and trailers) a backend
// received: normalised names, escaped values, sorted, ";"-joined. Two
// requests got the same identity exactly when their summaries are equal.
func identitySummary(h, trailer http.Header) string {
	var parts []string
	for name, vs := range h {
		if forgedName(name) {
			parts = append(parts, normName(name)+"="+escapeValues(vs))
		}
	}
	for name, vs := range trailer {
		if forgedName(name) {
			parts = append(parts, "trailer:"+normName(name)+"="+escapeValues(vs))
		}
	}
	sort.Strings(parts)
	return strings.Join(parts, ";")
}

func escapeValues(vs []string) string {
	out := make([]string, len(vs))
	for i, v := range vs {
		out[i] = url.QueryEscape(v)
	}
	return strings.Join(out, ",")
}

// loadUsers reads testdata/users.json at the repository root.
func loadUsers() (standin.Config, error) {
	root, err := harness.RepoRoot()
	if err != nil {
		return standin.Config{}, err
	}
	cfg, err := standin.LoadConfig(filepath.Join(root, "testdata", "users.json"))
	if err != nil {
		return cfg, err
	}
	cfg.PublicHost = publicHost
	return cfg, nil
}

// oracle answers "what identity must the backend see for these request
// headers": the stand-in's answer to exactly these headers, asked in process.
type oracle struct {
	r *standin.Resolver
}

func newOracle(cfg standin.Config) *oracle {
	return &oracle{r: standin.New(cfg)}
}

// identity returns the summary of the identity headers the stand-in issues
// for a request with header h, as the plugin would forward it.
func (o *oracle) identity(h http.Header) string {
	req := httptest.NewRequest(http.MethodGet, "http://"+publicHost+standin.PathResolve, nil)
	req.Header = h.Clone()
	req.Header.Set("X-Forwarded-Host", publicHost)
	rec := httptest.NewRecorder()
	o.r.ServeHTTP(rec, req)
	return identitySummary(rec.Header(), nil)
}

// credential is one way a client presents credentials, with the identity
// the backend must get for it.
type credential struct {
	name   string
	header http.Header
	want   string // identity summary
}

// knownCredentials returns every credential source of the users, a stale
// session, and no credential at all.
func knownCredentials(o *oracle) []credential {
	list := []struct{ name, header, value string }{
		{"alice session", "Cookie", "session=alice-session"},
		{"alice app_session", "Cookie", "app_session=alice-app-session"},
		{"alice app_access_token", "Cookie", "app_access_token=alice-app-token"},
		{"alice bearer", "Authorization", "Bearer alice-token"},
		{"bob session", "Cookie", "session=bob-session"},
		{"bob bearer", "Authorization", "bearer bob-token"},
		{"carol session", "Cookie", "session=carol-session"},
		{"anon session", "Cookie", "session=anon-session"},
		{"stale session", "Cookie", "session=stale-session"},
		{"invalid bearer", "Authorization", "Bearer nobody-token"},
		{"no credential", "Accept", "*/*"},
	}
	out := make([]credential, 0, len(list))
	for _, c := range list {
		h := http.Header{c.header: {c.value}}
		out = append(out, credential{name: c.name, header: h, want: o.identity(h)})
	}
	return out
}
