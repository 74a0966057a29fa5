package authgear

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"sync/atomic"
	"testing"
)

// The property check of FuzzServeHTTP (fuzz_test.go): the middleware in
// front of a fake resolver that gives every credential its own identity.

// fakeResolve answers as Authgear does, in its order (Bearer token,
// app_session, app_access_token, session cookie), except that every
// credential is a valid session of its own user unless its value starts with
// "bad". A session cookie starting with "bad" gives valid=false and a
// clearing Set-Cookie; other "bad" credentials are no credential.
func fakeResolve(h http.Header) http.Header {
	req := &http.Request{Header: h}
	if scheme, tok, ok := strings.Cut(h.Get("Authorization"), " "); ok && strings.EqualFold(scheme, "Bearer") && !strings.HasPrefix(tok, "bad") {
		return fakeUser("bearer", tok)
	}
	for _, kind := range []string{"app_session", "app_access_token"} {
		if c, err := req.Cookie(kind); err == nil && !strings.HasPrefix(c.Value, "bad") {
			return fakeUser(kind, c.Value)
		}
	}
	if c, err := req.Cookie("session"); err == nil {
		if !strings.HasPrefix(c.Value, "bad") {
			return fakeUser("session", c.Value)
		}
		return http.Header{
			"X-Authgear-Session-Valid": {"false"},
			"Set-Cookie":               {"session=; Max-Age=0"},
		}
	}
	return http.Header{}
}

// fakeUser is the valid-session answer of the user a credential names.
func fakeUser(kind, value string) http.Header {
	sum := sha256.Sum256([]byte(kind + "\x00" + value))
	id := hex.EncodeToString(sum[:8])
	return http.Header{
		"X-Authgear-Session-Valid":  {"true"},
		"X-Authgear-User-Id":        {"u-" + id},
		"X-Authgear-User-Anonymous": {"false"},
		"X-Authgear-User-Roles":     {"r" + id[:4] + ",editor"},
		"X-Authgear-Session-Amr":    {""},
	}
}

// identityView renders the identity headers of h as a backend reads them:
// normalised names, every value, sorted.
func identityView(h http.Header) string {
	var parts []string
	for name, vs := range h {
		if forgedName(name) {
			parts = append(parts, normName(name)+"="+strings.Join(vs, "\x00"))
		}
	}
	sort.Strings(parts)
	return strings.Join(parts, "\n")
}

// fakeTransport is the resolver: it answers fakeResolve's headers, and fails
// when the Authorization or Cookie header contains "fail".
type fakeTransport struct {
	calls atomic.Int64
}

// errFakeResolver is the fake resolver's transport failure.
var errFakeResolver = errors.New("fake resolver failure")

// RoundTrip answers one resolver call.
func (f *fakeTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	f.calls.Add(1)
	if shouldFail(req.Header) {
		return nil, errFakeResolver
	}
	return &http.Response{
		Status: "200 OK", StatusCode: http.StatusOK, Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header: fakeResolve(req.Header), Body: http.NoBody, Request: req,
	}, nil
}

func shouldFail(h http.Header) bool {
	return strings.Contains(strings.Join(h["Authorization"], "\n"), "fail") ||
		strings.Contains(strings.Join(h["Cookie"], "\n"), "fail")
}

// fuzzNext records what reached the next handler.
type fuzzNext struct {
	called   bool
	identity string
	trailers []string // identity names among the declared trailers, on arrival
}

func (n *fuzzNext) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	n.called = true
	n.identity = identityView(r.Header)
	for name := range r.Trailer {
		if forgedName(name) {
			n.trailers = append(n.trailers, name)
		}
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(r.Body, 1<<16))
	w.WriteHeader(http.StatusOK)
}

// fuzzMiddleware is the middleware under test with its fake resolver.
type fuzzMiddleware struct {
	h    http.Handler
	next *fuzzNext
	rt   *fakeTransport
}

func newFuzzMiddleware(tb testing.TB) *fuzzMiddleware {
	tb.Helper()
	cfg := CreateConfig()
	cfg.ResolverURL = "http://resolver.invalid/_resolver/resolve"
	fm := &fuzzMiddleware{next: &fuzzNext{}, rt: &fakeTransport{}}
	h, err := New(context.Background(), fm.next, cfg, "fuzz-"+tb.Name())
	if err != nil {
		tb.Fatal(err)
	}
	h.(*Middleware).shared.roundTrip = fm.rt
	fm.h = h
	return fm
}

// rawRequest writes the request a client sends: a GET with the header lines,
// and a chunked body followed by the trailer lines when there are any.
func rawRequest(s serveSeed) string {
	var b strings.Builder
	b.WriteString("GET /things?id=1 HTTP/1.1\r\nHost: api.example.test\r\n")
	for _, line := range lines(s.headers) {
		if line != "" {
			b.WriteString(line + "\r\n")
		}
	}
	if s.trailers == "" {
		b.WriteString("\r\n")
		return b.String()
	}
	b.WriteString("Transfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n")
	for _, line := range lines(s.trailers) {
		if line != "" {
			b.WriteString(line + "\r\n")
		}
	}
	b.WriteString("\r\n")
	return b.String()
}

func checkServe(t testing.TB, fm *fuzzMiddleware, s serveSeed) {
	t.Helper()
	req, err := http.ReadRequest(bufio.NewReader(strings.NewReader(rawRequest(s))))
	if err != nil {
		return // net/http answers 400 before any middleware
	}
	req.RemoteAddr = "192.0.2.1:1234"
	orig := req.Header.Clone()
	creds := len(orig["Authorization"]) > 0
	for _, name := range []string{"app_session", "app_access_token", "session"} {
		if _, err := (&http.Request{Header: orig}).Cookie(name); err == nil {
			creds = true
		}
	}
	fail := creds && shouldFail(orig)
	want := ""
	if creds && !fail {
		want = identityView(fakeResolve(orig))
	}

	*fm.next = fuzzNext{}
	calls := fm.rt.calls.Load()
	rec := httptest.NewRecorder()
	fm.h.ServeHTTP(rec, req)

	switch {
	case fail && (fm.next.called || rec.Code != http.StatusBadGateway):
		t.Fatalf("resolver failed, got status %d and next reached=%v (input %q)", rec.Code, fm.next.called, s)
	case !fail && !fm.next.called:
		t.Fatalf("request not passed on: status %d %q (input %q)", rec.Code, rec.Body.String(), s)
	case !fail && fm.next.identity != want:
		t.Fatalf("next handler saw identity\n%s\nwant\n%s\n(input %q)", fm.next.identity, want, s)
	case len(fm.next.trailers) > 0:
		t.Fatalf("declared identity trailers %q reached the next handler (input %q)", fm.next.trailers, s)
	case !creds && fm.rt.calls.Load() != calls:
		t.Fatalf("resolver called for a request without credentials (input %q)", s)
	}
}
