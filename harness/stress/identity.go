package main

import (
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sort"
	"strings"

	"github.com/traefik-authgear/traefik-authgear/harness/internal/stack"
	"github.com/traefik-authgear/traefik-authgear/harness/internal/standin"
)

// Response headers the backend adds for the client's checks.
const (
	hdrBackend  = "X-Stress-Backend"  // "1" on every answer of the backend
	hdrIdentity = "X-Stress-Identity" // identitySummary of what it received
)

// reportIdentity wraps the echo backend: it reads the request body (so that
// trailers arrive), then reports in X-Stress-Identity every identity header
// and trailer it received, in the way a CGI-style backend reads names.
func reportIdentity(echo http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, io.LimitReader(r.Body, 4<<20))
		w.Header().Set(hdrBackend, "1")
		w.Header().Set(hdrIdentity, identitySummary(r.Header, r.Trailer))
		echo.ServeHTTP(w, r)
	})
}

// identitySummary renders every header and trailer a backend that
// lower-cases names and reads "_" as "-" (CGI, WSGI, PHP, Rack) reads as
// x-authgear-*, so normalised, escaped, sorted and ";"-joined: two requests got
// the same identity exactly when their summaries are equal.
func identitySummary(h, trailer http.Header) string {
	var parts []string
	for prefix, hs := range map[string]http.Header{"": h, "trailer:": trailer} {
		for name, vs := range hs {
			if n := strings.ReplaceAll(strings.ToLower(name), "_", "-"); strings.HasPrefix(n, "x-authgear-") {
				// NUL-joined, then escaped: different lists stay different.
				parts = append(parts, prefix+n+"="+url.QueryEscape(strings.Join(vs, "\x00")))
			}
		}
	}
	sort.Strings(parts)
	return strings.Join(parts, ";")
}

// oracle answers "what identity must the backend see for these request
// headers": the summary of the identity headers the stand-in issues for
// exactly these headers, asked in process, as the plugin forwards them.
type oracle func(h http.Header) string

func newOracle(cfg standin.Config) oracle {
	r := standin.New(cfg)
	return func(h http.Header) string {
		req := httptest.NewRequest(http.MethodGet, "http://"+stack.PublicHost+standin.PathResolve, nil)
		req.Header = h.Clone()
		req.Header.Set("X-Forwarded-Host", stack.PublicHost)
		rec := httptest.NewRecorder()
		r.ServeHTTP(rec, req)
		return identitySummary(rec.Header(), nil)
	}
}

// credential is one way a client presents credentials, with the identity
// the backend must get for it.
type credential struct {
	name   string
	header http.Header
	want   string // identity summary
}

// job is a GET of url with c, which must get 200 with c's identity.
func (c credential) job(url string) job {
	return job{req: get(url, c.header), want: c.want, status: http.StatusOK}
}

// knownCredentials returns every credential source of the users, a stale
// session, and no credential at all.
func knownCredentials(o oracle) []credential {
	list := []struct{ name, header, value string }{
		{"alice session", "Cookie", "session=alice-session"}, {"alice app_session", "Cookie", "app_session=alice-app-session"},
		{"alice app_access_token", "Cookie", "app_access_token=alice-app-token"}, {"alice bearer", "Authorization", "Bearer alice-token"},
		{"bob session", "Cookie", "session=bob-session"}, {"bob bearer", "Authorization", "bearer bob-token"},
		{"carol session", "Cookie", "session=carol-session"}, {"anon session", "Cookie", "session=anon-session"},
		{"stale session", "Cookie", "session=stale-session"}, {"invalid bearer", "Authorization", "Bearer nobody-token"},
		{"no credential", "Accept", "*/*"},
	}
	out := make([]credential, 0, len(list))
	for _, c := range list {
		h := http.Header{c.header: {c.value}}
		out = append(out, credential{name: c.name, header: h, want: o(h)})
	}
	return out
}
