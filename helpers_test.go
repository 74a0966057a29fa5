package authgear_test

import (
	"bufio"
	"bytes"
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
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	authgear "github.com/traefik-authgear/traefik-authgear"
)

// publicHost is the app's public host: the fake accepts bearer tokens only
// for its origin, as Authgear checks a JWT's audience.
const (
	publicHost   = "auth.example.test"
	publicOrigin = "https://" + publicHost
)

// user is a test user of the fake resolver; its credentials are "user:<name>".
// Unless it says otherwise, it is not verified, its session's AMR is empty
// and its sign-in time is the recorded fixture's (weeks ago), as a real
// Authgear answers for a password sign-in.
type user struct {
	id        string
	roles     string
	anonymous bool
	verified  bool
	amr       string
	// signedIn is how long before each answer the user signed in; -1 for an
	// answer without x-authgear-session-authenticated-at.
	signedIn time.Duration
}

var users = map[string]user{
	"alice":        {id: "id-alice", roles: "editor,admin"},
	"bob":          {id: "id-bob", roles: "editor"},
	"carol":        {id: "id-carol"},
	"anon":         {id: "id-anon", anonymous: true},
	"fixture-user": {id: "ae9dd108-048e-4576-86ca-2c69bcd2ad08"}, // of the recorded webhook deliveries
	"dave":         {id: "id-dave", verified: true, amr: "pwd x_primary_password", signedIn: time.Hour},
	"erin":         {id: "id-erin", roles: "admin", verified: true, amr: "mfa otp pwd x_primary_password x_secondary_totp", signedIn: time.Minute},
	"frank":        {id: "id-frank", verified: true, amr: "mfa", signedIn: -1},
}

// fakeResolver answers as Authgear's resolver does, from the recorded
// fixtures, for the users above; with everyone set, every other credential
// but a "bad…" one is a user of its own. A credential containing "fail" is
// answered 500.
type fakeResolver struct {
	srv          *httptest.Server
	cookiePrefix string
	everyone     bool
	plant        []string // headers of these names every valid-session answer carries too
	calls        atomic.Int64
	status       atomic.Int64 // when non-zero, answer this status instead
	fixtures     map[string]http.Header
	disabled     sync.Map // user names whose credentials no longer resolve

	gate      chan struct{} // set by hold
	arrived   chan bool
	cancelled chan bool

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
	f := &fakeResolver{fixtures: map[string]http.Header{}, remotes: map[string]bool{}}
	for _, name := range []string{"session-valid-roles", "session-unknown", "no-credentials"} {
		// A 200 answer recorded from a real Authgear server.
		data, err := os.ReadFile(filepath.Join("testdata", "fixtures", "resolver", name+".http"))
		if err != nil {
			t.Fatal(err)
		}
		resp, err := http.ReadResponse(bufio.NewReader(bytes.NewReader(data)), nil)
		if err != nil || resp.StatusCode != http.StatusOK {
			t.Fatalf("fixture %s: %v", name, err)
		}
		f.fixtures[name] = resp.Header
	}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(func() { f.srv.Close() })
	return f
}

// newTLSResolver is the fake over TLS and HTTP/2, and its certificate's PEM;
// maxHeaderBytes, when not 0, is its header limit (which HTTP/2 advertises
// as SETTINGS_MAX_HEADER_LIST_SIZE, plus 320 bytes).
func newTLSResolver(t testing.TB, maxHeaderBytes int) (*fakeResolver, string) {
	f := newFakeResolver(t)
	f.srv.Close()
	f.srv = httptest.NewUnstartedServer(http.HandlerFunc(f.serve))
	f.srv.Config.MaxHeaderBytes = maxHeaderBytes
	f.srv.EnableHTTP2 = true
	f.srv.StartTLS()
	return f, string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: f.srv.Certificate().Raw}))
}

// url is the resolve endpoint's URL.
func (f *fakeResolver) url() string { return f.srv.URL + "/_resolver/resolve" }

// hold makes every later call wait for release (or its cancellation); arrived
// and cancelled receive each call as it arrives or is cancelled while held.
func (f *fakeResolver) hold() {
	f.gate = make(chan struct{})
	f.arrived = make(chan bool, 1024)
	f.cancelled = make(chan bool, 1024)
}

// release lets n held calls answer.
func (f *fakeResolver) release(n int) {
	for i := 0; i < n; i++ {
		f.gate <- struct{}{}
	}
}

// awaitArrival waits (at most 5 s) for the next held call.
func (f *fakeResolver) awaitArrival(t testing.TB) {
	t.Helper()
	select {
	case <-f.arrived:
	case <-time.After(5 * time.Second):
		t.Fatal("no resolver call arrived within 5 s")
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
	status := int(f.status.Load())
	var answer http.Header
	switch {
	case status == 0 && f.fails(r):
		status = http.StatusInternalServerError
	case status == 0:
		status = http.StatusOK
		answer = f.resolve(r)
	}
	if f.gate != nil {
		f.arrived <- true
		select {
		case <-f.gate:
		case <-r.Context().Done():
			f.cancelled <- true
			return
		}
	}
	for name, values := range answer {
		if name != "Content-Length" {
			w.Header()[name] = values
		}
	}
	w.WriteHeader(status)
}

// readCookiesAsHTTP2 joins the Cookie lines as an HTTP/2 server receives
// them: crumbs split on ';', empty ones dropped, joined with "; ".
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

// credentialCookies are Authgear's credential cookies, in its order.
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

// resolve applies Authgear's order: a bearer token (for the public origin
// only), then the credential cookies.
func (f *fakeResolver) resolve(r *http.Request) http.Header {
	origin := r.Header.Get("X-Forwarded-Proto") + "://" + r.Header.Get("X-Forwarded-Host")
	if scheme, token, ok := strings.Cut(r.Header.Get("Authorization"), " "); ok && strings.EqualFold(scheme, "bearer") && origin == publicOrigin {
		if answer := f.valid("bearer", token); answer != nil {
			return answer
		}
	}
	for _, name := range credentialCookies {
		if c, err := r.Cookie(f.cookiePrefix + name); err == nil {
			if answer := f.valid(name, c.Value); answer != nil {
				return answer
			}
		}
	}
	if _, err := r.Cookie(f.cookiePrefix + "session"); err == nil {
		return f.fixtures["session-unknown"]
	}
	return f.fixtures["no-credentials"] // as bearer-invalid: no identity
}

// valid returns the valid-session answer for the user the credential names
// ("user:<name>", or a JWT whose sub is that), nil for none.
func (f *fakeResolver) valid(kind, credential string) http.Header {
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
		return nil
	}
	if !ok || !known {
		if !f.everyone || strings.HasPrefix(credential, "bad") {
			return nil
		}
		sum := sha256.Sum256([]byte(kind + "\x00" + credential))
		id := hex.EncodeToString(sum[:8])
		u = user{id: "u-" + id, roles: "r" + id[:4] + ",editor"}
	}
	h := f.fixtures["session-valid-roles"].Clone()
	for _, name := range f.plant {
		h[name] = []string{"planted-by-the-resolver"}
	}
	h.Set("X-Authgear-User-Id", u.id)
	h.Set("X-Authgear-User-Anonymous", strconv.FormatBool(u.anonymous))
	h.Set("X-Authgear-User-Verified", strconv.FormatBool(u.verified))
	h.Set("X-Authgear-Session-Amr", u.amr)
	switch {
	case u.signedIn < 0:
		h.Del("X-Authgear-Session-Authenticated-At")
	case u.signedIn > 0:
		h.Set("X-Authgear-Session-Authenticated-At", strconv.FormatInt(time.Now().Add(-u.signedIn).Unix(), 10))
	}
	if u.roles == "" {
		h.Del("X-Authgear-User-Roles")
	} else {
		h.Set("X-Authgear-User-Roles", u.roles)
	}
	return h
}

// jwtFor returns a JWT for "user:<name>" expiring at exp (its signature unchecked).
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

// connections counts the connections the resolver's calls came on.
func (f *fakeResolver) connections() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.remotes)
}

// seen is what the next handler received.
type seen struct {
	called       bool
	method, body string
	header       http.Header
	trailer      http.Header       // the declared trailers, on arrival
	identity     map[string]string // x-authgear-* headers, names as CGI reads them
	writer       http.ResponseWriter
}

// recorder records what reached it, answers with the user id in
// X-Backend-User, and edits the identity values in place, as a careless
// backend might (which must not change a cached answer).
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

// identityOf returns every header whose name, read as CGI does, starts with
// x-authgear-; values of names that read alike are joined.
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

// newHandler is newNamed, named after the test, with a new fake resolver.
func newHandler(t testing.TB, edit func(*authgear.Config)) (*fakeResolver, http.Handler, *recorder) {
	t.Helper()
	f := newFakeResolver(t)
	h, rec := newNamed(t, f, t.Name(), edit)
	return f, h, rec
}

// newNamed builds the middleware called name in front of f, with
// staleWhileRevalidate 0 unless edit says otherwise.
func newNamed(t testing.TB, f *fakeResolver, name string, edit func(*authgear.Config)) (http.Handler, *recorder) {
	t.Helper()
	cfg := authgear.CreateConfig()
	cfg.ResolverURL = f.url()
	cfg.ResolverHost = publicOrigin
	cfg.StaleWhileRevalidate = "0"
	if edit != nil {
		edit(cfg)
	}
	f.cookiePrefix = cfg.CookiePrefix
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
	method, target, body, remote string
	header                       map[string]string
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
	return req
}

// do sends the request through the handler and returns the response and
// what the next handler saw.
func do(h http.Handler, rec *recorder, r request) (*httptest.ResponseRecorder, seen) {
	return serve(h, rec, r.build())
}

func serve(h http.Handler, rec *recorder, req *http.Request) (*httptest.ResponseRecorder, seen) {
	rec.last = seen{}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	return w, rec.last
}

// bearer and cookie return a user's credential headers.
func bearer(name string) map[string]string {
	return map[string]string{"Authorization": "Bearer user:" + name}
}

func cookie(cookieName, userName string) map[string]string {
	return map[string]string{"Cookie": cookieName + "=user:" + userName}
}

// merge merges header maps, the later ones winning.
func merge(maps ...map[string]string) map[string]string {
	out := map[string]string{}
	for _, m := range maps {
		for k, v := range m {
			out[k] = v
		}
	}
	return out
}

// assertUser fails unless the backend was reached with exactly the user's
// identity (none for "").
func assertUser(t testing.TB, s seen, name string) {
	t.Helper()
	switch {
	case !s.called:
		t.Fatalf("the backend was not reached; want user %q", name)
	case name == "" && len(s.identity) != 0:
		t.Fatalf("backend saw identity headers %v, want none", s.identity)
	case name != "" && (s.identity["x-authgear-user-id"] != users[name].id || s.identity["x-authgear-session-valid"] != "true"):
		t.Fatalf("backend saw identity %v, want user %s (%s) with a valid session", s.identity, name, users[name].id)
	}
}

// serveAsync serves a request with the Authorization in a goroutine.
func serveAsync(h http.Handler, ctx context.Context, authorization string) chan *httptest.ResponseRecorder {
	out := make(chan *httptest.ResponseRecorder, 1)
	go func() {
		req := request{header: map[string]string{"Authorization": authorization}}.build()
		if ctx != nil {
			req = req.WithContext(ctx)
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		out <- w
	}()
	return out
}

// outcome waits (at most 5 s) for a background request.
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

// expect fails unless a request with the Authorization gets status, the
// backend seeing userID.
func expect(t testing.TB, h http.Handler, authorization string, status int, userID string) {
	t.Helper()
	w := outcome(t, serveAsync(h, nil, authorization))
	if w.Code != status || backendUser(w) != userID {
		t.Fatalf("%s: status %d, backend user %q; want %d, %q", authorization, w.Code, backendUser(w), status, userID)
	}
}

// eventually polls cond for at most 5 s.
func eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); !cond(); time.Sleep(2 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("after 5 s, still not: %s", what)
		}
	}
}

func withMetrics(c *authgear.Config) { c.MetricsPath = "/_authgear/metrics" }

// scrape fetches withMetrics's metricsPath from the address remote.
func scrape(h http.Handler, remote string) (int, string) {
	w := httptest.NewRecorder()
	h.ServeHTTP(w, request{target: "http://api.example.test/_authgear/metrics", remote: remote}.build())
	return w.Code, w.Body.String()
}

// awaitMetric waits for the sample name{middleware=<test>labels} value.
func awaitMetric(t testing.TB, h http.Handler, name, labels string, value int) {
	t.Helper()
	want := fmt.Sprintf("%s{middleware=%q%s} %d\n", name, t.Name(), labels, value)
	eventually(t, want, func() bool { _, body := scrape(h, "127.0.0.1:1"); return strings.Contains(body, want) })
}
