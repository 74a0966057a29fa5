package authgear_test

import (
	"bufio"
	"net/http"
	"strings"
	"testing"
)

// serveSeed is one FuzzServeHTTP input: request header lines as a client
// writes them ("\n" between lines), and trailer lines (a chunked body is sent
// when there are any).
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

// FuzzServeHTTP sends requests parsed from raw header lines through the
// middleware in front of the fake resolver, every credential but a "bad" one
// a user of its own: the middleware never panics, the next handler sees
// exactly the identity the resolver issued for the request's credentials,
// and a resolver failure never lets the request through. TestFuzzServeSeeds
// runs the seeds for Yaegi, which runs Test functions only.
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

// rawRequest writes the request a client sends: a GET with the header lines,
// and a chunked body followed by the trailer lines when there are any.
func rawRequest(s serveSeed) string {
	var b strings.Builder
	b.WriteString("GET /things?id=1 HTTP/1.1\r\nHost: api.example.test\r\n")
	writeLines := func(lines string) {
		for _, line := range strings.Split(lines, "\n") {
			if line != "" {
				b.WriteString(line + "\r\n")
			}
		}
	}
	writeLines(s.headers)
	if s.trailers != "" {
		b.WriteString("Transfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n")
		writeLines(s.trailers)
	}
	b.WriteString("\r\n")
	return b.String()
}

func checkServe(t testing.TB, f *fakeResolver, h http.Handler, rec *recorder, s serveSeed) {
	t.Helper()
	req, err := http.ReadRequest(bufio.NewReader(strings.NewReader(rawRequest(s))))
	if err != nil {
		return // net/http answers 400 before any middleware
	}
	req.RemoteAddr = "192.0.2.1:1234"
	// What the resolver answers the client's credentials, asked for the
	// app's public origin.
	asked := &http.Request{Header: http.Header{"X-Forwarded-Host": {publicHost}, "X-Forwarded-Proto": {"https"}}}
	creds := len(req.Header["Authorization"]) > 0
	for _, name := range []string{"Authorization", "Cookie"} {
		if v := req.Header[name]; len(v) > 0 {
			asked.Header[name] = append([]string(nil), v...)
		}
	}
	for _, name := range credentialCookies {
		if _, err := req.Cookie(name); err == nil {
			creds = true
		}
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
