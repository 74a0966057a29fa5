package authgear_test

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
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
	status, err := strconv.Atoi(strings.SplitN(line, " ", 3)[1])
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

// fakeResolver is the one fake resolver of these tests. It answers as
// Authgear's resolver does, from the recorded fixtures, for the users above;
// with everyone set (the serve fuzz target), every other credential that does
// not start with "bad" is a valid session of a user of its own. A request
// whose Authorization or credential cookie contains "fail" is answered 500.
// It counts calls and keeps the last request and the connections used.
type fakeResolver struct {
	srv          *httptest.Server
	cookiePrefix string
	everyone     bool
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

	mu      sync.Mutex
	last    recordedRequest
	remotes map[string]bool // client addresses: one per connection
}

// recordedRequest is what the resolver received.
type recordedRequest struct {
	method, host, body, path string
	header                   http.Header
}

func newFakeResolver(t testing.TB) *fakeResolver {
	t.Helper()
	f := &fakeResolver{fixtures: map[string]fixture{}, remotes: map[string]bool{}}
	for _, name := range []string{"session-valid-roles", "session-unknown", "bearer-invalid", "no-credentials", "post-method", "trailing-slash"} {
		f.fixtures[name] = loadFixture(t, name)
	}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(func() { f.srv.Close() })
	return f
}

// newTLSResolver is the fake resolver served over TLS and HTTP/2, as an https
// Authgear is, with the PEM of its certificate.
func newTLSResolver(t testing.TB) (*fakeResolver, string) {
	f := newFakeResolver(t)
	f.srv.Close()
	f.srv = httptest.NewUnstartedServer(http.HandlerFunc(f.serve))
	f.srv.EnableHTTP2 = true
	f.srv.StartTLS()
	return f, string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: f.srv.Certificate().Raw}))
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
	f.last = recordedRequest{method: r.Method, host: r.Host, header: r.Header.Clone(), body: string(body), path: r.URL.Path}
	f.remotes[r.RemoteAddr] = true
	f.mu.Unlock()
	if d := f.delay.Load(); d > 0 {
		select {
		case <-time.After(time.Duration(d)):
		case <-r.Context().Done():
			return
		}
	}
	var fx fixture
	switch {
	case f.status.Load() != 0:
		fx.status = int(f.status.Load())
	case r.Method != http.MethodGet && r.Method != http.MethodHead:
		fx = f.fixtures["post-method"]
	case r.URL.Path != "/_resolver/resolve":
		fx = f.fixtures["trailing-slash"]
	case f.fails(r):
		fx.status = http.StatusInternalServerError
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
	if len(r.Header["Cookie"]) == 0 {
		return
	}
	var crumbs []string
	for _, line := range r.Header["Cookie"] {
		for _, crumb := range strings.Split(line, ";") {
			if crumb = strings.TrimSpace(crumb); crumb != "" {
				crumbs = append(crumbs, crumb)
			}
		}
	}
	r.Header["Cookie"] = []string{strings.Join(crumbs, "; ")}
}

// credentialCookies are the names of Authgear's credential cookies, in the
// order it reads them (after a bearer token).
var credentialCookies = []string{"app_session", "app_access_token", "session"}

// fails reports whether the resolver fails for the request's credentials.
func (f *fakeResolver) fails(r *http.Request) bool {
	for _, name := range credentialCookies {
		if c, err := r.Cookie(f.cookiePrefix + name); err == nil && strings.Contains(c.Value, "fail") {
			return true
		}
	}
	return strings.Contains(strings.Join(r.Header["Authorization"], "\n"), "fail")
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
		if fx, ok := f.valid("bearer", token); ok {
			return fx
		}
	}
	for _, name := range credentialCookies {
		if c, err := r.Cookie(f.cookiePrefix + name); err == nil {
			if fx, ok := f.valid(name, c.Value); ok {
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
// that the credential of the given kind names: "user:<name>" (or a JWT whose
// sub is that), or with everyone set any credential but a "bad" one.
func (f *fakeResolver) valid(kind, credential string) (fixture, bool) {
	if parts := strings.Split(credential, "."); len(parts) == 3 {
		var claims struct {
			Sub string `json:"sub"`
		}
		if payload, err := base64.RawURLEncoding.DecodeString(parts[1]); err == nil && json.Unmarshal(payload, &claims) == nil && claims.Sub != "" {
			credential = claims.Sub
		}
	}
	name, ok := strings.CutPrefix(credential, "user:")
	u, known := users[name]
	if _, off := f.disabled.Load(name); off {
		return fixture{}, false
	}
	if !ok || !known {
		if !f.everyone || strings.HasPrefix(credential, "bad") {
			return fixture{}, false
		}
		sum := sha256.Sum256([]byte(kind + "\x00" + credential))
		id := hex.EncodeToString(sum[:8])
		u = user{id: "u-" + id, roles: "r" + id[:4] + ",editor"}
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
	if f.last.method == "" {
		t.Fatal("the resolver received no request")
	}
	return f.last
}

// connections returns how many connections the resolver's calls came on.
func (f *fakeResolver) connections() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.remotes)
}

// seen is what the next handler received.
type seen struct {
	called   bool
	method   string
	body     string
	header   http.Header
	trailer  http.Header       // the declared trailers, on arrival
	identity map[string]string // x-authgear-* headers, names as CGI reads them
	writer   http.ResponseWriter
}

// recorder is a next handler that records what reached it, answers with
// the user id it saw in X-Backend-User, and then, as a careless backend
// might, edits the identity header values in place (which must not change a
// cached answer).
type recorder struct {
	mu   sync.Mutex
	last seen
	hits int
}

func (rec *recorder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s := seen{called: true, method: r.Method, header: r.Header.Clone(), trailer: r.Trailer.Clone(), identity: identityOf(r.Header), writer: w}
	body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<16))
	s.body = string(body)
	rec.mu.Lock()
	rec.last = s
	rec.hits++
	rec.mu.Unlock()
	w.Header().Set("X-Backend-User", r.Header.Get("X-Authgear-User-Id"))
	for name, values := range r.Header {
		if strings.HasPrefix(name, "X-Authgear-") && len(values) > 0 {
			values[0] = "edited"
		}
	}
	w.WriteHeader(http.StatusOK)
	_, _ = io.WriteString(w, "backend")
}

// identityOf returns every header whose name, read as CGI does (lower case,
// "_" as "-"), starts with x-authgear-; the values of names that read alike
// are joined, so that a forged spelling beside a real header shows.
func identityOf(h http.Header) map[string]string {
	out := map[string]string{}
	for name, values := range h {
		n := strings.ReplaceAll(strings.ToLower(name), "_", "-")
		if strings.HasPrefix(n, "x-authgear-") {
			v := strings.Join(values, "|")
			if prev, dup := out[n]; dup {
				v = prev + "|" + v
			}
			out[n] = v
		}
	}
	return out
}

// newHandler builds the middleware, named after the test, in front of a new
// fake resolver, with a configuration edited by edit.
func newHandler(t testing.TB, edit func(*authgear.Config)) (*fakeResolver, http.Handler, *recorder) {
	t.Helper()
	f := newFakeResolver(t)
	h, rec := newNamed(t, f, t.Name(), edit)
	return f, h, rec
}

// newNamed builds the middleware called name in front of f. Requests wait
// for an expired answer's resolver call (staleWhileRevalidate 0) unless edit
// says otherwise.
func newNamed(t testing.TB, f *fakeResolver, name string, edit func(*authgear.Config)) (http.Handler, *recorder) {
	t.Helper()
	cfg := authgear.CreateConfig()
	cfg.ResolverURL = f.url()
	cfg.ResolverHost = publicOrigin
	cfg.StaleWhileRevalidate = "0"
	if edit != nil {
		edit(cfg)
	}
	rec := &recorder{}
	h, err := authgear.New(context.Background(), rec, cfg, name)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return h, rec
}

// request describes a client request; a Transfer-Encoding: chunked header
// sends the body chunked.
type request struct {
	method  string
	target  string
	body    string
	remote  string
	header  map[string]string
	cookies map[string]string
}

func (r request) build() *http.Request {
	method, target := r.method, r.target
	if method == "" {
		method = http.MethodGet
	}
	if target == "" {
		target = "http://api.example.test/things?id=1"
	}
	req := httptest.NewRequest(method, target, strings.NewReader(r.body))
	if r.remote != "" {
		req.RemoteAddr = r.remote
	}
	for k, v := range r.header {
		req.Header[k] = append(req.Header[k], v)
	}
	if req.Header.Get("Transfer-Encoding") == "chunked" {
		req.Header.Del("Transfer-Encoding")
		req.TransferEncoding = []string{"chunked"}
		req.ContentLength = -1
	}
	names := make([]string, 0, len(r.cookies))
	for name := range r.cookies {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		req.AddCookie(&http.Cookie{Name: name, Value: r.cookies[name]})
	}
	return req
}

// do sends the request through the handler and returns the response and
// what the next handler saw (called is false when it was not reached).
func do(h http.Handler, rec *recorder, r request) (*httptest.ResponseRecorder, seen) {
	return serve(h, rec, r.build())
}

// serve is do for a request already built.
func serve(h http.Handler, rec *recorder, req *http.Request) (*httptest.ResponseRecorder, seen) {
	rec.mu.Lock()
	rec.last = seen{}
	rec.mu.Unlock()
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	rec.mu.Lock()
	defer rec.mu.Unlock()
	return w, rec.last
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

// serveAsync sends a request with the given Authorization through the
// handler in a goroutine (with ctx, when not nil) and delivers the response
// on the returned channel.
func serveAsync(h http.Handler, ctx context.Context, authorization string) chan *httptest.ResponseRecorder {
	out := make(chan *httptest.ResponseRecorder, 1)
	go func() {
		req := httptest.NewRequest(http.MethodGet, "http://api.example.test/", nil)
		if ctx != nil {
			req = req.WithContext(ctx)
		}
		req.Header.Set("Authorization", authorization)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		out <- w
	}()
	return out
}

// outcome waits for a background request, failing the test after 5 s.
func outcome(t testing.TB, ch <-chan *httptest.ResponseRecorder) *httptest.ResponseRecorder {
	t.Helper()
	select {
	case w := <-ch:
		return w
	case <-time.After(5 * time.Second):
		t.Fatal("the request did not finish within 5 s")
		return nil
	}
}

// backendUser is the user id the backend saw (the recorder's X-Backend-User).
func backendUser(w *httptest.ResponseRecorder) string { return w.Header().Get("X-Backend-User") }

// expect sends a request with the Authorization and fails the test unless it
// is answered status, the backend seeing the user id userID ("" for none).
func expect(t testing.TB, h http.Handler, authorization string, status int, userID string) {
	t.Helper()
	w := outcome(t, serveAsync(h, nil, authorization))
	if w.Code != status || backendUser(w) != userID {
		t.Fatalf("%s: status %d, backend user %q; want %d, %q", authorization, w.Code, backendUser(w), status, userID)
	}
}

// eventually polls cond until it holds, failing the test after 5 s.
func eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); !cond(); time.Sleep(2 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("after 5 s, still not: %s", what)
		}
	}
}

// awaitCalls waits until the resolver has had n calls.
func awaitCalls(t testing.TB, f *fakeResolver, n int64) {
	t.Helper()
	eventually(t, fmt.Sprintf("%d resolver calls", n), func() bool { return f.calls.Load() >= n })
}

// metricsPath is where withMetrics serves the metrics.
const metricsPath = "/_authgear/metrics"

func withMetrics(c *authgear.Config) { c.MetricsPath = metricsPath }

// scrape fetches metricsPath from the address remote.
func scrape(h http.Handler, remote string) (int, string) {
	req := httptest.NewRequest(http.MethodGet, "http://api.example.test"+metricsPath, nil)
	req.RemoteAddr = remote
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	return w.Code, w.Body.String()
}

// awaitMisses waits until the middleware named after the test has counted n
// cache misses: n requests have joined a resolver call.
func awaitMisses(t testing.TB, h http.Handler, n int) {
	t.Helper()
	want := fmt.Sprintf("authgear_requests_total{middleware=%q,outcome=\"cache_miss\"} %d\n", t.Name(), n)
	eventually(t, want, func() bool {
		_, body := scrape(h, "127.0.0.1:1")
		return strings.Contains(body, want)
	})
}
