package authgear_test

import (
	"bufio"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/textproto"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	authgear "github.com/traefik-authgear/traefik-authgear"
)

// publicHost is the Authgear app's public host in these tests, and
// publicOrigin its origin: bearer tokens are accepted only when the resolver
// is asked for both (X-Forwarded-Host and X-Forwarded-Proto), as a JWT's
// audience is checked by Authgear.
const (
	publicHost   = "auth.example.test"
	publicOrigin = "https://" + publicHost
)

// fixture is a resolver answer recorded from a real Authgear server.
type fixture struct {
	status int
	header http.Header
}

// loadFixture reads testdata/fixtures/resolver/<name>.http.
func loadFixture(t testing.TB, name string) fixture {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", "fixtures", "resolver", name+".http"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r := textproto.NewReader(bufio.NewReader(f))
	line, err := r.ReadLine()
	if err != nil {
		t.Fatal(err)
	}
	parts := strings.SplitN(line, " ", 3)
	status, err := strconv.Atoi(parts[1])
	if err != nil {
		t.Fatalf("fixture %s: status line %q: %v", name, line, err)
	}
	h, err := r.ReadMIMEHeader()
	if err != nil && err != io.EOF {
		t.Fatalf("fixture %s: %v", name, err)
	}
	return fixture{status: status, header: http.Header(h)}
}

// user is a test user of the fake resolver; its credentials are "user:<name>".
type user struct {
	id        string
	roles     string
	anonymous bool
}

var users = map[string]user{
	"alice": {id: "id-alice", roles: "editor,admin"},
	"bob":   {id: "id-bob", roles: "editor"},
	"carol": {id: "id-carol"},
	"anon":  {id: "id-anon", anonymous: true},
	// The user of the recorded webhook deliveries.
	"fixture-user": {id: "ae9dd108-048e-4576-86ca-2c69bcd2ad08"},
}

// fakeResolver answers as Authgear's resolver does, from the recorded
// fixtures, for the users above. It counts calls and keeps the requests.
type fakeResolver struct {
	srv          *httptest.Server
	cookiePrefix string
	calls        atomic.Int64
	delay        atomic.Int64 // nanoseconds to wait before answering
	status       atomic.Int64 // when non-zero, answer this status instead
	fixtures     map[string]fixture
	disabled     sync.Map // user names whose credentials no longer resolve
	roles        sync.Map // user name → roles that replace the user's own

	// When gate is not nil, every call waits for a value on it (or for its
	// request to be cancelled); arrived receives each call as it arrives and
	// cancelled each call whose request was cancelled while it waited.
	gate      chan struct{}
	arrived   chan string
	cancelled chan string

	mu       sync.Mutex
	requests []recordedRequest
}

// recordedRequest is what the resolver received.
type recordedRequest struct {
	method string
	host   string
	header http.Header
	body   string
	path   string
	remote string // client address: one per connection
}

func newFakeResolver(t testing.TB) *fakeResolver {
	t.Helper()
	f := &fakeResolver{fixtures: map[string]fixture{}}
	for _, name := range []string{"session-valid-roles", "session-unknown", "bearer-invalid", "bearer-valid-public-host", "no-credentials", "post-method", "trailing-slash"} {
		f.fixtures[name] = loadFixture(t, name)
	}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(func() { f.srv.Close() })
	return f
}

// url is the resolve endpoint's URL.
func (f *fakeResolver) url() string { return f.srv.URL + "/_resolver/resolve" }

// hold makes every later call wait for release (or its cancellation).
func (f *fakeResolver) hold() {
	f.gate = make(chan struct{})
	f.arrived = make(chan string, 1024)
	f.cancelled = make(chan string, 1024)
}

// release lets n held calls answer.
func (f *fakeResolver) release(n int) {
	for i := 0; i < n; i++ {
		f.gate <- struct{}{}
	}
}

// awaitArrival waits for the next held call to reach the resolver and
// returns its Authorization header; it fails the test after 5 s.
func (f *fakeResolver) awaitArrival(t testing.TB) string {
	t.Helper()
	select {
	case a := <-f.arrived:
		return a
	case <-time.After(5 * time.Second):
		t.Fatal("no resolver call arrived within 5 s")
		return ""
	}
}

func (f *fakeResolver) serve(w http.ResponseWriter, r *http.Request) {
	f.calls.Add(1)
	readCookiesAsHTTP2(r)
	body, _ := io.ReadAll(r.Body)
	f.mu.Lock()
	f.requests = append(f.requests, recordedRequest{method: r.Method, host: r.Host, header: r.Header.Clone(), body: string(body), path: r.URL.Path, remote: r.RemoteAddr})
	f.mu.Unlock()
	if d := f.delay.Load(); d > 0 {
		select {
		case <-time.After(time.Duration(d)):
		case <-r.Context().Done():
			return
		}
	}
	if s := f.status.Load(); s != 0 {
		w.WriteHeader(int(s))
		return
	}
	var fx fixture
	switch {
	case r.Method != http.MethodGet && r.Method != http.MethodHead:
		fx = f.fixtures["post-method"]
	case r.URL.Path != "/_resolver/resolve":
		fx = f.fixtures["trailing-slash"]
	default:
		fx = f.resolve(r)
	}
	// A held call has resolved what Authgear knew when it arrived, and
	// answers when released.
	if f.gate != nil {
		f.arrived <- r.Header.Get("Authorization")
		select {
		case <-f.gate:
		case <-r.Context().Done():
			f.cancelled <- r.Header.Get("Authorization")
			return
		}
	}
	for name, values := range fx.header {
		if name != "Content-Length" {
			w.Header()[name] = values
		}
	}
	w.WriteHeader(fx.status)
}

// readCookiesAsHTTP2 rewrites the request's Cookie lines as an HTTP/2 server
// (Authgear behind an https resolverURL) receives them: split into crumbs on
// ';', empty crumbs dropped, joined again with "; ".
func readCookiesAsHTTP2(r *http.Request) {
	lines := r.Header["Cookie"]
	if len(lines) == 0 {
		return
	}
	var crumbs []string
	for _, line := range lines {
		for _, crumb := range strings.Split(line, ";") {
			if crumb = strings.TrimSpace(crumb); crumb != "" {
				crumbs = append(crumbs, crumb)
			}
		}
	}
	r.Header["Cookie"] = []string{strings.Join(crumbs, "; ")}
}

// resolve applies Authgear's order: a bearer token (for the public host
// only), then app_session, app_access_token and session cookies.
func (f *fakeResolver) resolve(r *http.Request) fixture {
	host := r.Header.Get("X-Forwarded-Host")
	if host == "" {
		host = r.Host
	}
	origin := r.Header.Get("X-Forwarded-Proto") + "://" + host
	if scheme, token, ok := strings.Cut(r.Header.Get("Authorization"), " "); ok && strings.EqualFold(scheme, "bearer") && origin == publicOrigin {
		if fx, ok := f.valid(token); ok {
			return fx
		}
	}
	for _, name := range []string{"app_session", "app_access_token", "session"} {
		if c, err := r.Cookie(f.cookiePrefix + name); err == nil {
			if fx, ok := f.valid(c.Value); ok {
				return fx
			}
		}
	}
	if _, err := r.Cookie(f.cookiePrefix + "session"); err == nil {
		fx := f.fixtures["session-unknown"]
		h := fx.header.Clone()
		h["Set-Cookie"] = []string{strings.Replace(h.Get("Set-Cookie"), "session=", f.cookiePrefix+"session=", 1)}
		return fixture{status: fx.status, header: h}
	}
	if r.Header.Get("Authorization") != "" {
		return f.fixtures["bearer-invalid"]
	}
	return f.fixtures["no-credentials"]
}

// valid returns the recorded valid-session answer rewritten for the user
// that the credential "user:<name>" names.
func (f *fakeResolver) valid(credential string) (fixture, bool) {
	if sub := jwtSubject(credential); sub != "" {
		credential = sub
	}
	name, ok := strings.CutPrefix(credential, "user:")
	u, known := users[name]
	if _, off := f.disabled.Load(name); !ok || !known || off {
		return fixture{}, false
	}
	fx := f.fixtures["session-valid-roles"]
	h := fx.header.Clone()
	h.Set("X-Authgear-User-Id", u.id)
	h.Set("X-Authgear-User-Anonymous", strconv.FormatBool(u.anonymous))
	if roles, ok := f.roles.Load(name); ok {
		u.roles = roles.(string)
	}
	if u.roles == "" {
		h.Del("X-Authgear-User-Roles")
	} else {
		h.Set("X-Authgear-User-Roles", u.roles)
	}
	return fixture{status: fx.status, header: h}, true
}

// jwtSubject returns the sub claim of a token that is a JWT (unsigned, as
// the tests make them), or "".
func jwtSubject(token string) string {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return ""
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return ""
	}
	var claims struct {
		Sub string `json:"sub"`
	}
	if json.Unmarshal(payload, &claims) != nil {
		return ""
	}
	return claims.Sub
}

// jwtFor returns a JWT for the user's credential "user:<name>" that expires
// at exp (the signature is not checked by the plugin, and the fake trusts
// sub).
func jwtFor(name string, exp time.Time) string {
	enc := base64.RawURLEncoding
	payload := fmt.Sprintf(`{"sub":"user:%s","exp":%d,"aud":["%s"]}`, name, exp.Unix(), publicOrigin)
	return enc.EncodeToString([]byte(`{"alg":"RS256","typ":"JWT"}`)) + "." + enc.EncodeToString([]byte(payload)) + "." + enc.EncodeToString([]byte("signature"))
}

// lastRequest returns the last request the resolver received.
func (f *fakeResolver) lastRequest(t testing.TB) recordedRequest {
	t.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.requests) == 0 {
		t.Fatal("the resolver received no request")
	}
	return f.requests[len(f.requests)-1]
}

// seen is what the next handler received.
type seen struct {
	called   bool
	method   string
	body     string
	header   http.Header
	identity map[string]string // x-authgear-* headers, lower-cased names
}

// recorder is a next handler that records what reached it.
type recorder struct {
	mu   sync.Mutex
	last seen
	hits int
}

func (rec *recorder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	s := seen{called: true, method: r.Method, body: string(body), header: r.Header.Clone(), identity: identityOf(r.Header)}
	rec.mu.Lock()
	rec.last = s
	rec.hits++
	rec.mu.Unlock()
	w.Header().Set("X-Backend-User", r.Header.Get("X-Authgear-User-Id"))
	w.WriteHeader(http.StatusOK)
	_, _ = io.WriteString(w, "backend")
}

// identityOf returns every header whose name, read as CGI does, starts with
// x-authgear-.
func identityOf(h http.Header) map[string]string {
	out := map[string]string{}
	for name, values := range h {
		n := strings.ReplaceAll(strings.ToLower(name), "_", "-")
		if strings.HasPrefix(n, "x-authgear-") {
			out[n] = strings.Join(values, "|")
		}
	}
	return out
}

// newHandler builds the middleware with a configuration edited by edit, under
// a middleware name unique to the test.
func newHandler(t testing.TB, f *fakeResolver, edit func(*authgear.Config)) (http.Handler, *recorder) {
	t.Helper()
	cfg := authgear.CreateConfig()
	if f != nil {
		cfg.ResolverURL = f.url()
	}
	cfg.ResolverHost = publicOrigin
	// Requests wait for an expired answer's resolver call, as before
	// staleWhileRevalidate; its own tests turn it on.
	cfg.StaleWhileRevalidate = "0"
	if edit != nil {
		edit(cfg)
	}
	rec := &recorder{}
	h, err := authgear.New(context.Background(), rec, cfg, t.Name())
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return h, rec
}

// request describes a client request.
type request struct {
	method  string
	target  string
	body    string
	header  map[string]string
	cookies map[string]string
}

// do sends the request through the handler and returns the response and
// what the next handler saw (called is false when it was not reached).
func do(t testing.TB, h http.Handler, rec *recorder, r request) (*http.Response, seen) {
	t.Helper()
	method := r.method
	if method == "" {
		method = http.MethodGet
	}
	target := r.target
	if target == "" {
		target = "http://api.example.test/things?id=1"
	}
	req := httptest.NewRequest(method, target, strings.NewReader(r.body))
	for k, v := range r.header {
		req.Header[k] = append(req.Header[k], v)
	}
	names := make([]string, 0, len(r.cookies))
	for name := range r.cookies {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		req.AddCookie(&http.Cookie{Name: name, Value: r.cookies[name]})
	}
	rec.mu.Lock()
	rec.last = seen{}
	rec.mu.Unlock()
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	rec.mu.Lock()
	defer rec.mu.Unlock()
	return w.Result(), rec.last
}

// bearer returns the Authorization header of a user's token.
func bearer(name string) map[string]string {
	return map[string]string{"Authorization": "Bearer user:" + name}
}

// cookie returns one credential cookie of a user.
func cookie(cookieName, userName string) map[string]string {
	return map[string]string{cookieName: "user:" + userName}
}

// assertUser fails unless the next handler saw exactly the user's identity.
func assertUser(t testing.TB, s seen, name string) {
	t.Helper()
	if !s.called {
		t.Fatalf("the backend was not reached; want user %s", name)
	}
	want := users[name].id
	if got := s.identity["x-authgear-user-id"]; got != want {
		t.Fatalf("backend saw x-authgear-user-id %q, want %q (identity %v)", got, want, s.identity)
	}
	if got := s.identity["x-authgear-session-valid"]; got != "true" {
		t.Fatalf("backend saw x-authgear-session-valid %q, want true", got)
	}
}

// assertNoIdentity fails unless the next handler was reached without any
// identity header.
func assertNoIdentity(t testing.TB, s seen) {
	t.Helper()
	if !s.called {
		t.Fatal("the backend was not reached")
	}
	if len(s.identity) != 0 {
		t.Fatalf("backend saw identity headers %v, want none", s.identity)
	}
}
