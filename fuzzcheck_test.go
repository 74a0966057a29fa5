package authgear

import (
	"crypto/sha256"
	"net/http"
	"net/textproto"
	"strings"
	"testing"
)

// The property checks of FuzzCredentialKey and FuzzStripIdentityHeaders
// (fuzz_test.go). They judge the plugin with code of their own (header names
// lowered byte by byte, tokens split by hand), not with the plugin's helpers.

// forgedName reports whether a backend that lower-cases header names and
// reads "_" as "-" (CGI, WSGI, PHP, Rack) would take name for an identity
// header.
func forgedName(name string) bool {
	b := []byte(name)
	for i, c := range b {
		switch {
		case c >= 'A' && c <= 'Z':
			b[i] = c + ('a' - 'A')
		case c == '_':
			b[i] = '-'
		}
	}
	return strings.HasPrefix(string(b), "x-authgear-")
}

// lines splits a fuzz input on "\n"; an empty input gives no element.
func lines(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(s, "\n")
}

// --- FuzzCredentialKey ---

// credView is what Authgear reads of a request's credentials, plus every
// Authorization value (the key covers them all: more distinct keys than
// Authgear needs, never fewer).
type credView struct {
	auth    []string
	cookies [3]string // app_session, app_access_token, session values
	present [3]bool
}

func (v credView) any() bool {
	return len(v.auth) > 0 || v.present[0] || v.present[1] || v.present[2]
}

func (v credView) equal(w credView) bool {
	if len(v.auth) != len(w.auth) || v.cookies != w.cookies || v.present != w.present {
		return false
	}
	for i := range v.auth {
		if v.auth[i] != w.auth[i] {
			return false
		}
	}
	return true
}

// addLines adds the lines of s as values of the header name, if there are any.
func addLines(h http.Header, name, s string) {
	if l := lines(s); len(l) > 0 {
		h[name] = append(h[name], l...)
	}
}

// keyRequest builds a request with the given Authorization values and
// Cookie lines.
func keyRequest(auth, cookies string) *http.Request {
	req := &http.Request{Method: http.MethodGet, Header: http.Header{}}
	addLines(req.Header, "Authorization", auth)
	addLines(req.Header, "Cookie", cookies)
	return req
}

// viewOf reads a request's credentials the way Authgear does: the first
// cookie of each name, as net/http parses cookies.
func viewOf(req *http.Request, names *cookieNames) credView {
	v := credView{auth: req.Header["Authorization"]}
	for i, name := range []string{names.appSession, names.appAccessToken, names.session} {
		if c, err := req.Cookie(name); err == nil {
			v.cookies[i] = c.Value
			v.present[i] = true
		}
	}
	return v
}

func checkCredentialKey(t testing.TB, s keySeed) {
	t.Helper()
	prefix := strings.TrimSpace(s.prefix)
	if strings.ContainsAny(prefix, " ;=,\"") {
		return // New refuses this cookiePrefix
	}
	names := &cookieNames{session: prefix + "session", appSession: prefix + "app_session", appAccessToken: prefix + "app_access_token"}
	r1, r2 := keyRequest(s.auth1, s.cookie1), keyRequest(s.auth2, s.cookie2)
	k1, k2 := credentialKey(r1, names), credentialKey(r2, names)
	v1, v2 := viewOf(r1, names), viewOf(r2, names)

	if again := credentialKey(keyRequest(s.auth1, s.cookie1), names); again != k1 {
		t.Fatalf("credentialKey is not deterministic for %+v", s)
	}
	if (k1 != "") != v1.any() {
		t.Fatalf("credentialKey says credentials=%v, Authgear would find %+v (input %+v)", k1 != "", v1, s)
	}
	if k1 != "" && len(k1) != sha256.Size {
		t.Fatalf("key of %d bytes, want %d", len(k1), sha256.Size)
	}
	// Cookies that are not credentials do not change the key.
	if k := credentialKey(keyRequest(s.auth1, s.cookie1+"\nzz-fuzz-other=1; theme=dark"), names); k != k1 {
		t.Fatalf("an unrelated cookie line changed the key of %+v", s)
	}
	if k := credentialKey(keyRequest(s.auth1, "zz-fuzz-other=1\n"+s.cookie1), names); k != k1 {
		t.Fatalf("an unrelated cookie line before the others changed the key of %+v", s)
	}
	if k1 != "" && k2 != "" && (k1 == k2) != v1.equal(v2) {
		t.Fatalf("keys equal=%v but credentials equal=%v:\n  1: %+v\n  2: %+v\n  input %+v", k1 == k2, v1.equal(v2), v1, v2, s)
	}
}

// --- FuzzStripIdentityHeaders ---

// tokens returns the non-empty, trimmed comma-separated tokens of values.
func tokens(values []string) []string {
	var out []string
	for _, v := range values {
		for _, t := range strings.Split(v, ",") {
			if t = strings.TrimSpace(t); t != "" {
				out = append(out, t)
			}
		}
	}
	return out
}

func checkStrip(t testing.TB, s stripSeed) {
	t.Helper()
	req := &http.Request{Method: http.MethodGet, Header: http.Header{}}
	values := lines(s.values)
	if len(values) == 0 {
		values = []string{""}
	}
	for i, name := range lines(s.names) {
		v := values[i%len(values)]
		req.Header[name] = append(req.Header[name], v)
		if c := textproto.CanonicalMIMEHeaderKey(name); c != name {
			req.Header[c] = append(req.Header[c], v)
		}
	}
	addLines(req.Header, "Connection", s.connection)
	if ts := lines(s.trailers); len(ts) > 0 {
		req.Trailer = http.Header{}
		for _, name := range ts {
			req.Trailer[name] = nil
			req.Header["Trailer"] = append(req.Header["Trailer"], name)
		}
	}
	before, beforeTrailer := req.Header.Clone(), req.Trailer.Clone()

	stripIdentityHeaders(req)

	for name, vs := range req.Header {
		if forgedName(name) {
			t.Fatalf("header %q: %q remains after stripping (input %+v)", name, vs, s)
		}
		if _, ok := before[name]; !ok {
			t.Fatalf("stripping added header %q (input %+v)", name, s)
		}
	}
	for name, vs := range before {
		if forgedName(name) || name == "Connection" {
			continue
		}
		if got, ok := req.Header[name]; !ok || strings.Join(got, "\x00") != strings.Join(vs, "\x00") || len(got) != len(vs) {
			t.Fatalf("header %q changed from %q to %q (input %+v)", name, vs, got, s)
		}
	}
	var want []string
	for _, tok := range tokens(before["Connection"]) {
		if !forgedName(tok) {
			want = append(want, tok)
		}
	}
	got := tokens(req.Header["Connection"])
	if strings.Join(got, ",") != strings.Join(want, ",") || len(got) != len(want) {
		t.Fatalf("Connection tokens %q, want %q (input %+v)", got, want, s)
	}
	if c, ok := req.Header["Connection"]; ok && len(c) == 0 {
		t.Fatalf("an empty Connection header remains (input %+v)", s)
	}
	for name := range req.Trailer {
		if forgedName(name) {
			t.Fatalf("declared trailer %q remains (input %+v)", name, s)
		}
	}
	for name := range beforeTrailer {
		if _, ok := req.Trailer[name]; !forgedName(name) && !ok {
			t.Fatalf("declared trailer %q was removed (input %+v)", name, s)
		}
	}
}
