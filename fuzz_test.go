package authgear

import (
	"crypto/sha256"
	"fmt"
	"net/http"
	"net/textproto"
	"strings"
	"testing"
)

// Fuzz targets for the credential key and the removal of forged identity
// headers; TestFuzzSeedProperties runs their seeds for Yaegi. Inputs split on "\n".

// keySeed is one FuzzCredentialKey input: two requests' Authorization values
// and Cookie lines, and a cookie prefix.
type keySeed struct {
	auth1, cookie1, auth2, cookie2, prefix string
}

var keySeeds = []keySeed{
	{"Bearer alice-token", "", "Bearer bob-token", "", ""},
	{"", "session=alice-session", "", "app_session=alice-session", ""},
	{"", "app_session=x", "", "app_access_token=x", ""},
	{"", "session=a; app_session=b", "", "app_session=b; session=a", ""},
	{"", "session=a\nsession=b", "", "session=a", ""},
	{"", "session=b\nsession=a", "", "session=a", ""},
	{"Bearer a\nBearer b", "", "Bearer a", "", ""},
	{"", "", "", "theme=dark", ""},
	{"", "", "", "", ""},
	{"", "session=", "", "", ""},
	{"", `session="quoted"`, "", "session=quoted", ""},
	{"", "myapp_session=a", "", "session=a", "myapp_"},
	{"A1:x", "", "", "session=x", ""},
	{"x", "app_session=1:y", "x", "app_access_token=1:y", ""},
	{"", "Session=alice-session", "", "session=alice-session", ""},
	{"", "session=\x80\xff", "", "session=%80", ""},
	{"", "app_session=a; app_session=b", "", "app_session=b; app_session=a", ""},
	{"", strings.Repeat(";", 2998) + "session=x", "", "session=x", ""}, // an unrelated line takes it over Go's cookie limit
}

// FuzzCredentialKey: the key is deterministic, ignores other cookies, exists
// exactly when Authgear would find a credential, and is shared exactly by
// requests with the same credentials (as Authgear reads them).
func FuzzCredentialKey(f *testing.F) {
	for _, s := range keySeeds {
		f.Add(s.auth1, s.cookie1, s.auth2, s.cookie2, s.prefix)
	}
	f.Fuzz(func(t *testing.T, auth1, cookie1, auth2, cookie2, prefix string) {
		checkCredentialKey(t, keySeed{auth1, cookie1, auth2, cookie2, prefix})
	})
}

// stripSeed is one FuzzStripIdentityHeaders input: header names (values are
// taken in turn from values), Connection values and declared trailer names.
type stripSeed struct {
	names, values, connection, trailers string
}

var stripSeeds = []stripSeed{
	{"X-Authgear-User-Id\nAccept", "forged\napplication/json", "", ""},
	{"x-authgear-user-id\nX_Authgear_User_Id\nX_AUTHGEAR_SESSION_VALID\nx-AuThGeAr-uSeR-rOlEs", "a\nb\nc\nd", "", ""},
	{"X-Authgear-\nX-Authgear\nX-Authgearx\nX-Authgear_", "1\n2\n3\n4", "", ""},
	{"X-A\nXa\nX-AuthgeaR-A\nY-Authgear-User-Id", "1\n2\n3\n4", "", ""},
	{"Cookie", "session=x", "keep-alive, X-Authgear-User-Id, x_authgear_roles\nUpgrade", ""},
	{"Connection", "X-Authgear-User-Id", "X-Authgear-User-Id", ""},
	{"Accept", "*/*", ",,X-Authgear-A,, close ,", ""},
	{"Accept", "*/*", "\u00a0X-Authgear-A\u00a0, authgear", ""},
	{"Te", "trailers", "te", "X-Authgear-User-Id\nX-Checksum\nx_authgear_session_valid"},
	{"X-Authgear-User-Id", "", "", "X-Authgear-User-Id"},
}

// FuzzStripIdentityHeaders: no header, declared trailer or Connection token
// that a CGI backend reads as x-authgear-* remains; nothing else changes.
func FuzzStripIdentityHeaders(f *testing.F) {
	for _, s := range stripSeeds {
		f.Add(s.names, s.values, s.connection, s.trailers)
	}
	f.Fuzz(func(t *testing.T, names, values, connection, trailers string) {
		checkStrip(t, stripSeed{names, values, connection, trailers})
	})
}

func TestFuzzSeedProperties(t *testing.T) {
	for _, s := range keySeeds {
		checkCredentialKey(t, s)
	}
	for _, s := range stripSeeds {
		checkStrip(t, s)
	}
}

// forgedName reports whether a backend that lower-cases names and reads "_"
// as "-" (CGI, WSGI, PHP, Rack) takes name for an identity header (not with
// the plugin's helpers).
func forgedName(name string) bool {
	return strings.HasPrefix(strings.ReplaceAll(strings.ToLower(name), "_", "-"), "x-authgear-")
}

// lines splits a fuzz input on "\n" (none for "").
func lines(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(s, "\n")
}

// addLines adds the lines of s as values of the header name.
func addLines(h http.Header, name, s string) {
	if l := lines(s); len(l) > 0 {
		h[name] = append(h[name], l...)
	}
}

// keyRequest builds a request with the Authorization values and Cookie lines.
func keyRequest(auth, cookies string) *http.Request {
	req := &http.Request{Method: http.MethodGet, Header: http.Header{}}
	addLines(req.Header, "Authorization", auth)
	addLines(req.Header, "Cookie", cookies)
	return req
}

// viewOf renders what Authgear reads of the credentials (the first cookie of
// each name) plus every Authorization value; "" for none.
func viewOf(req *http.Request, names *cookieNames) string {
	view := ""
	for _, name := range []string{names.appSession, names.appAccessToken, names.session} {
		if c, err := req.Cookie(name); err == nil {
			view += fmt.Sprintf("%s=%q ", name, c.Value)
		}
	}
	if auth := req.Header["Authorization"]; len(auth) > 0 {
		view += fmt.Sprintf("Authorization=%q", auth)
	}
	return view
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
	if (k1 != "") != (v1 != "") {
		t.Fatalf("credentialKey says credentials=%v, Authgear would find %s (input %+v)", k1 != "", v1, s)
	}
	if k1 != "" && len(k1) != sha256.Size {
		t.Fatalf("key of %d bytes, want %d", len(k1), sha256.Size)
	}
	for _, cookies := range []string{s.cookie1 + "\nzz-fuzz-other=1; theme=dark", "zz-fuzz-other=1\n" + s.cookie1} {
		want, other := k1, keyRequest(s.auth1, cookies)
		if len(other.Cookies()) == 0 { // over Go's cookie limit: no cookie counts
			want = credentialKey(keyRequest(s.auth1, ""), names)
		}
		if credentialKey(other, names) != want {
			t.Fatalf("an unrelated cookie line changed the key of %+v (Cookie lines %q)", s, lines(cookies))
		}
	}
	if k1 != "" && k2 != "" && (k1 == k2) != (v1 == v2) {
		t.Fatalf("keys equal=%v but credentials equal=%v:\n  1: %s\n  2: %s\n  input %+v", k1 == k2, v1 == v2, v1, v2, s)
	}
}

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
	values := strings.Split(s.values, "\n") // [""] for ""
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

	want := http.Header{}
	for name, vs := range before {
		if !forgedName(name) && name != "Connection" {
			want[name] = vs
		}
	}
	got := req.Header.Clone()
	delete(got, "Connection")
	if fmt.Sprintf("%q", got) != fmt.Sprintf("%q", want) {
		t.Fatalf("headers after stripping %q, want %q (input %+v)", got, want, s)
	}
	var wantTokens []string
	for _, tok := range tokens(before["Connection"]) {
		if !forgedName(tok) {
			wantTokens = append(wantTokens, tok)
		}
	}
	if got, want := fmt.Sprintf("%q", tokens(req.Header["Connection"])), fmt.Sprintf("%q", wantTokens); got != want {
		t.Fatalf("Connection tokens %s, want %s (input %+v)", got, want, s)
	}
	if c, ok := req.Header["Connection"]; ok && len(c) == 0 {
		t.Fatalf("an empty Connection header remains (input %+v)", s)
	}
	wantTrailer := http.Header{}
	for name := range beforeTrailer {
		if !forgedName(name) {
			wantTrailer[name] = nil
		}
	}
	if fmt.Sprintf("%q", req.Trailer) != fmt.Sprintf("%q", wantTrailer) {
		t.Fatalf("declared trailers %q, want %q (input %+v)", req.Trailer, wantTrailer, s)
	}
}
