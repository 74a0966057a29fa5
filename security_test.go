// Traefik v3.6 is built with go >= 1.24, so its cookie parser reads no cookie
// at all from a request with more than 3,000 of them. The plugin's go.mod
// says go 1.22, which would turn that limit off in these tests: run the
// parser Traefik runs. (tools/yaegi-test.sh sets the same in GODEBUG.)
//go:debug httpcookiemaxnum=3000

package authgear_test

import (
	"bufio"
	"net/http"
	"strings"
	"testing"

	authgear "github.com/traefik-authgear/traefik-authgear"
)

// oversizedCookie is a Cookie header that Go's parser, with Traefik's limit,
// reads as no cookie at all, but that an HTTP/2 hop turns into a valid
// session cookie (the empty crumbs are dropped).
func oversizedCookie(session string) string {
	return strings.Repeat(";", 3001) + "session=" + session
}

func TestOversizedCookieHeaderCannotPlantAnIdentity(t *testing.T) {
	if _, err := (request{header: map[string]string{"Cookie": oversizedCookie("user:alice")}}).build().Cookie("session"); err == nil {
		t.Fatal("the cookie parser read a cookie from 3,002 cookies: the tests do not run Traefik's parser (httpcookiemaxnum=3000)")
	}
	for _, proto := range []string{"HTTP/1.1 resolver", "HTTP/2 resolver"} {
		t.Run(proto, func(t *testing.T) {
			f, ca := newFakeResolver(t), ""
			if proto == "HTTP/2 resolver" {
				f, ca = newTLSResolver(t, 0)
			}
			h, rec := newNamed(t, f, t.Name(), func(c *authgear.Config) { c.TLS.CA = ca; c.RequireSession = true })
			// A shared, non-secret Authorization value with alice's session behind 3,001 empty cookies.
			w, s := do(h, rec, request{header: map[string]string{"Authorization": "Bearer undefined", "Cookie": oversizedCookie("user:alice")}})
			if s.called || w.Code != http.StatusUnauthorized {
				t.Fatalf("oversized cookie: status %d, backend saw %v; want 401, not reached", w.Code, s.identity)
			}
			if got := f.lastRequest(t).header.Values("Cookie"); len(got) != 0 {
				t.Fatalf("the resolver was sent Cookie %q for a request whose cookies the plugin could not read", got)
			}
			// Everyone else sending the same Authorization value.
			w, s = do(h, rec, request{header: map[string]string{"Authorization": "Bearer undefined"}})
			if s.called || w.Code != http.StatusUnauthorized {
				t.Fatalf("victim: status %d, backend saw %v; want 401", w.Code, s.identity)
			}
		})
	}
}

// serveSeed is one FuzzServeHTTP input: header lines and trailer lines (sent
// after a chunked body).
type serveSeed struct {
	headers, trailers string
}

var serveSeeds = []serveSeed{
	{"Cookie: session=alice", ""},
	{"Cookie: session=alice\nX-Authgear-User-Id: forged\nX_Authgear_User_Id: forged", ""},
	{"Authorization: Bearer alice\nCookie: session=bob", ""},
	{"Authorization: Bearer bad-token\nCookie: app_access_token=carol; session=bob", ""},
	{"Cookie: session=bad-session", ""},
	{"Cookie: session=fail-please", ""},
	{"Cookie: theme=fail", ""},
	{"Authorization: \nX-Authgear-Session-Valid: true", ""},
	{"Cookie: session=a; session=b\nCookie: app_session=c", ""},
	{"Connection: X-Authgear-User-Id, keep-alive\nCookie: session=dave", ""},
	{"Cookie: session=erin\nTrailer: X-Authgear-User-Id", "X-Authgear-User-Id: forged"},
	{"Cookie: session=erin\nTrailer: X-Checksum", "X-Checksum: 1\nX_Authgear_User_Id: forged"},
	{"Authorization: Bearer a\nAuthorization: Bearer b", ""},
	{"Authorization: Bearer b\nAuthorization: Bearer a", ""},
	{"Cookie: session=\"quoted\"", ""},
	{"Cookie: Session=alice; SESSION=bob", ""},
	{"X-Authgear-User-Roles: admin\nX-AUTHGEAR-SESSION-VALID: true\nx-authgear-user-anonymous:false", ""},
	{"Cookie: app_session=fail; session=alice", ""},
}

// FuzzServeHTTP: the middleware never panics, the backend sees exactly the
// identity the resolver issued for the request's credentials, and a resolver
// failure never lets a request through. TestFuzzServeSeeds runs the seeds.
func FuzzServeHTTP(f *testing.F) {
	for _, s := range serveSeeds {
		f.Add(s.headers, s.trailers)
	}
	fr, h, rec := newHandler(f, nil)
	fr.everyone = true
	f.Fuzz(func(t *testing.T, headers, trailers string) {
		checkServe(t, fr, h, rec, serveSeed{headers, trailers})
	})
}

func TestFuzzServeSeeds(t *testing.T) {
	f, h, rec := newHandler(t, nil)
	f.everyone = true
	for _, s := range serveSeeds {
		checkServe(t, f, h, rec, s)
	}
}

func checkServe(t testing.TB, f *fakeResolver, h http.Handler, rec *recorder, s serveSeed) {
	t.Helper()
	crlf := func(lines string) (out string) { // the non-empty lines
		for _, line := range strings.FieldsFunc(lines, func(r rune) bool { return r == '\n' }) {
			out += line + "\r\n"
		}
		return out
	}
	raw := "GET /things?id=1 HTTP/1.1\r\nHost: api.example.test\r\n" + crlf(s.headers)
	if s.trailers != "" {
		raw += "Transfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n" + crlf(s.trailers)
	}
	req, err := http.ReadRequest(bufio.NewReader(strings.NewReader(raw + "\r\n")))
	if err != nil {
		return // net/http answers 400 before any middleware
	}
	req.RemoteAddr = "192.0.2.1:1234"
	// The resolver's answer to the client's credentials, for the public origin.
	asked := &http.Request{Header: http.Header{"X-Forwarded-Host": {publicHost}, "X-Forwarded-Proto": {"https"}}}
	creds := len(req.Header["Authorization"]) > 0
	for _, name := range []string{"Authorization", "Cookie"} {
		if v := req.Header[name]; len(v) > 0 {
			asked.Header[name] = append([]string(nil), v...)
		}
	}
	// The credentials' size as the resolver would be sent them: the
	// Authorization values, and the credential cookies as "name=value"
	// ("name=\"value\"" for a value with a space or a comma) joined by "; ".
	size, cookies := 0, 0
	for _, v := range req.Header["Authorization"] {
		size += len(v)
	}
	for _, name := range credentialCookies {
		if c, err := req.Cookie(name); err == nil {
			creds = true
			size += len(name) + 1 + len(c.Value)
			if strings.ContainsAny(c.Value, " ,") {
				size += 2
			}
			cookies++
		}
	}
	if cookies > 1 {
		size += 2 * (cookies - 1)
	}
	if size > 8<<10 {
		calls := f.calls.Load()
		if w, seen := serve(h, rec, req); w.Code != http.StatusRequestHeaderFieldsTooLarge || seen.called || f.calls.Load() != calls {
			t.Fatalf("credentials of %d bytes: status %d, next reached=%v, resolver called=%v; want 431 without a call (input %q)", size, w.Code, seen.called, f.calls.Load() != calls, s)
		}
		return
	}
	fail := creds && f.fails(asked)
	want := map[string]string{}
	if creds && !fail {
		want = identityOf(f.resolve(asked))
	}

	calls := f.calls.Load()
	w, seen := serve(h, rec, req)
	same := len(seen.identity) == len(want)
	for name, v := range want {
		same = same && seen.identity[name] == v
	}
	switch {
	case fail && (seen.called || w.Code != http.StatusBadGateway):
		t.Fatalf("resolver failed, got status %d and next reached=%v (input %q)", w.Code, seen.called, s)
	case !fail && !seen.called:
		t.Fatalf("request not passed on: status %d %q (input %q)", w.Code, w.Body.String(), s)
	case !fail && !same:
		t.Fatalf("next handler saw identity\n%v\nwant\n%v\n(input %q)", seen.identity, want, s)
	case len(identityOf(seen.trailer)) > 0:
		t.Fatalf("declared identity trailers %v reached the next handler (input %q)", seen.trailer, s)
	case !creds && f.calls.Load() != calls:
		t.Fatalf("resolver called for a request without credentials (input %q)", s)
	}
}
