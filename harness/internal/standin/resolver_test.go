package standin_test

import (
	"bufio"
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/traefik-authgear/traefik-authgear/harness/internal/echo"
	"github.com/traefik-authgear/traefik-authgear/harness/internal/stack"
	"github.com/traefik-authgear/traefik-authgear/harness/internal/standin"
)

// resolveCase is one request to the stand-in and the exact answer expected.
type resolveCase struct {
	name                         string
	method, target, host, header string // see call
	status                       int    // 200 when zero
	want                         http.Header
	body                         string // checked for a 200 (empty) or when set
}

const internal = "resolver.internal:3001" // a host that is not the public one

var (
	redirect = func(location string) http.Header {
		return http.Header{"Location": {location}, "Content-Type": {"text/html; charset=utf-8"}}
	}
	notFound         = http.Header{"Content-Type": {"text/plain; charset=utf-8"}, "X-Content-Type-Options": {"nosniff"}}
	methodNotAllowed = with(notFound, http.Header{"Allow": {"GET, HEAD, OPTIONS"}})
)

// credentialCases are for testdata/users.json as it is; the requests of the
// recorded fixtures are not repeated here (see TestFixtures).
var credentialCases = []resolveCase{
	{name: "bearer scheme is case-insensitive", header: "Authorization: bEaReR alice-token", want: alice},
	{name: "bearer with two spaces is another token", header: "Authorization: Bearer  alice-token", want: common},
	{name: "basic auth is no credential", header: "Authorization: Basic YWxpY2U6eA==", want: common},
	{name: "bearer host needs exact match", host: stack.PublicHost + ":443", header: "Authorization: Bearer alice-token", want: common},
	{name: "app_session cookie", header: "Cookie: app_session=alice-app-session", want: alice},
	{name: "app_access_token cookie", header: "Cookie: app_access_token=bob-app-token", want: bob},
	{name: "anonymous user", header: "Cookie: session=anon-session", want: anon},
	{name: "anonymous bearer", header: "Authorization: Bearer anon-token", want: anon},
	{name: "empty session cookie", header: "Cookie: session=", want: stale("session")},
	{name: "unknown app_session", header: "Cookie: app_session=bogus", want: common},
	{name: "unknown app_access_token", header: "Cookie: app_access_token=bogus", want: common},
	{name: "other cookies only", header: "Cookie: theme=dark; sessionx=alice-session", want: common},
	{name: "session value from another kind", header: "Cookie: session=alice-app-session", want: stale("session")},

	// Order: bearer, app_session, app_access_token, session; first valid wins.
	{name: "bearer beats app_session", header: "Authorization: Bearer bob-token\nCookie: app_session=alice-app-session", want: bob},
	{name: "bearer off-host falls to app_session", host: internal, header: "Authorization: Bearer bob-token\nCookie: app_session=alice-app-session", want: alice},
	{name: "app_session beats app_access_token", header: "Cookie: app_access_token=bob-app-token; app_session=alice-app-session", want: alice},
	{name: "app_access_token beats session", header: "Cookie: session=alice-session; app_access_token=bob-app-token", want: bob},
	{name: "invalid app_session falls to session", header: "Cookie: app_session=bogus; session=carol-session", want: carol},
	{name: "invalid bearer falls to session", header: "Authorization: Bearer nope\nCookie: session=carol-session", want: carol},
	{name: "valid app_session hides stale session", header: "Cookie: app_session=alice-app-session; session=bogus", want: alice},
	{name: "invalid everything with stale session", header: "Authorization: Bearer nope\nCookie: app_session=x; app_access_token=y; session=z", want: stale("session")},
	{name: "first of repeated cookies counts", header: "Cookie: session=bogus; session=alice-session", want: stale("session")},

	// Methods, paths and the query.
	{name: "HEAD", method: http.MethodHead, header: "Cookie: session=alice-session", want: alice},
	{name: "query is ignored", target: standin.PathResolve + "?user=bob", header: "Cookie: session=alice-session", want: alice},
	{name: "short path", target: standin.PathResolveShort, header: "Cookie: session=alice-session", want: alice},
	{name: "OPTIONS", method: http.MethodOptions, status: http.StatusMethodNotAllowed, want: methodNotAllowed},
	{name: "DELETE with a valid session", method: http.MethodDelete, header: "Cookie: session=alice-session", status: http.StatusMethodNotAllowed, want: methodNotAllowed, body: "Method Not Allowed\n"},
	{name: "trailing slash keeps the query", target: standin.PathResolve + "/?a=1", status: http.StatusMovedPermanently, want: redirect(standin.PathResolve + "?a=1")},
	{name: "short path trailing slash", target: standin.PathResolveShort + "/", status: http.StatusMovedPermanently, want: redirect(standin.PathResolveShort)},
	{name: "HEAD trailing slash", method: http.MethodHead, target: standin.PathResolve + "/", status: http.StatusPermanentRedirect, want: redirect(standin.PathResolve)},
	{name: "POST trailing slash", method: http.MethodPost, target: standin.PathResolve + "/", status: http.StatusNotFound, want: notFound},
	{name: "unknown path", target: "/_resolver/other", status: http.StatusNotFound, want: notFound},
	{name: "root", target: "/", status: http.StatusNotFound, want: notFound},
}

// check serves tc with h and says how the answer differs from tc's, if at all.
func (tc resolveCase) check(h http.Handler) string {
	rec := serve(h, call{method: tc.method, target: tc.target, host: tc.host, header: tc.header})
	status, got := max(tc.status, http.StatusOK), rec.Result().Header
	if rec.Code != status || !sameHeaders(got, tc.want) || (tc.status == 0 || tc.body != "") && rec.Body.String() != tc.body {
		return fmt.Sprintf("%s: %d %q %v; want %d %q %v", tc.name, rec.Code, rec.Body, got, status, tc.body, tc.want)
	}
	return ""
}

// TestResolve checks every answer exactly: for the users file (which the
// caller edits after New: the stand-in keeps its own copy), with a cookie
// prefix, after SetUsers removed some of alice's credentials, and with a
// credential given to two users.
func TestResolve(t *testing.T) {
	cfg := loadUsers(t)
	prefixed := cfg
	prefixed.CookiePrefix = "ag_"
	plain, withPrefix := standin.New(cfg), standin.New(prefixed)
	disabled := standin.New(cfg)
	users := disabled.Users()
	users[0].Sessions, users[0].BearerTokens = nil, nil // alice's
	disabled.SetUsers(users)
	cfg.Users[0].Roles[0], cfg.Users[0].Sessions[0] = "changed", "changed"
	twice := standin.New(standin.Config{PublicHost: stack.PublicHost, Users: []standin.User{
		{ID: "first", Sessions: []string{"shared"}, AuthenticatedAt: 1795920688},
		{ID: "second", Sessions: []string{"shared"}, AuthenticatedAt: 1795920688},
	}})
	for _, g := range []struct {
		name  string
		r     *standin.Resolver
		cases []resolveCase
	}{
		{"users", plain, credentialCases},
		{"prefix", withPrefix, []resolveCase{
			{name: "prefixed session", header: "Cookie: ag_session=alice-session", want: alice},
			{name: "prefixed app_session", header: "Cookie: ag_app_session=bob-app-session", want: bob},
			{name: "prefixed app_access_token", header: "Cookie: ag_app_access_token=alice-app-token", want: alice},
			{name: "unprefixed cookies are ignored", header: "Cookie: session=alice-session; app_session=alice-app-session; app_access_token=alice-app-token", want: common},
			{name: "stale prefixed session is cleared by its own name", header: "Cookie: ag_session=bogus", want: stale("ag_session")},
			{name: "bearer is unaffected", header: "Authorization: Bearer carol-token", want: carol},
		}},
		{"SetUsers", disabled, []resolveCase{
			{name: "disabled session is stale", header: "Cookie: session=alice-session", want: stale("session")},
			{name: "disabled bearer is no identity", header: "Authorization: Bearer alice-token", want: common},
			{name: "untouched app session", header: "Cookie: app_session=alice-app-session", want: alice},
			{name: "other users unaffected", header: "Cookie: session=bob-session", want: bob},
			{name: "bearer still bound to the public host", host: "other.test", header: "Authorization: Bearer bob-token", want: common},
		}},
		{"twice", twice, []resolveCase{
			{name: "the first user keeps it", header: "Cookie: session=shared", want: identity("first", "false", "false", "true", "", "")},
		}},
	} {
		for _, tc := range g.cases {
			if msg := tc.check(g.r); msg != "" {
				t.Errorf("%s: %s", g.name, msg)
			}
		}
	}
}

// TestNoPublicHostRejectsBearer: an HTTP/1.0 request without Host must not
// match an empty public host.
func TestNoPublicHostRejectsBearer(t *testing.T) {
	cfg := loadUsers(t)
	cfg.PublicHost = ""
	req := call{header: "Authorization: Bearer alice-token"}.request("")
	req.Host = ""
	rec := httptest.NewRecorder()
	if standin.New(cfg).ServeHTTP(rec, req); !sameHeaders(rec.Result().Header, common) {
		t.Errorf("header %v, want no identity", rec.Result().Header)
	}
}

func TestCallsAndLastRequest(t *testing.T) {
	r := standin.New(loadUsers(t))
	if r.LastRequest() != nil {
		t.Fatal("LastRequest before any request: want nil")
	}
	for _, c := range []call{
		{target: standin.PathResolve + "?x=1", header: "Cookie: session=alice-session\nX-Forwarded-For: 203.0.113.9"},
		{target: standin.ControlPrefix + "calls"},
		{target: "/elsewhere"},
		{target: standin.PathResolve + "/"},
	} {
		serve(r, c)
	}
	if got := r.Calls(); got != 1 {
		t.Errorf("Calls = %d, want 1 (control, 404 and redirect requests are not calls)", got)
	}
	last := r.LastRequest()
	if last == nil || last.Method != http.MethodGet || last.URL.RawQuery != "x=1" || last.Header.Get("X-Forwarded-For") != "203.0.113.9" || last.Header.Get("Cookie") != "session=alice-session" {
		t.Fatalf("LastRequest = %+v, want the resolve request", last)
	}
	last.Header.Set("Cookie", "mutated")
	if got := r.LastRequest().Header.Get("Cookie"); got != "session=alice-session" {
		t.Errorf("mutating a LastRequest copy changed the next one: %q", got)
	}
	serve(r, call{method: http.MethodPost, target: standin.PathResolveShort})
	if got := r.Calls(); got != 2 {
		t.Errorf("Calls = %d, want 2 (a 405 on the resolve path is still a call)", got)
	}
	if got := r.LastRequest(); got.Method != http.MethodPost || got.URL.Path != standin.PathResolveShort {
		t.Errorf("LastRequest = %s %s, want POST %s", got.Method, got.URL.Path, standin.PathResolveShort)
	}
}

// TestConcurrentUse resolves the users file's 200 answers from many
// goroutines while users, faults and the counter change underneath; run with
// -race. Every answer must be whole and exact, never a mix.
func TestConcurrentUse(t *testing.T) {
	cfg := loadUsers(t)
	r := standin.New(cfg)
	cases := slices.DeleteFunc(slices.Clone(credentialCases), func(tc resolveCase) bool { return tc.status != 0 })
	const workers, perWorker = 16, 300
	var stop atomic.Bool
	var mutators, wg sync.WaitGroup
	mutators.Go(func() {
		for i := 0; !stop.Load(); i++ {
			r.SetUsers(cfg.Users)
			r.SetFault(standin.Fault{Mode: []string{standin.ModeNormal, standin.ModeHugeHeader}[i%2]})
			_, _, _ = r.Users(), r.LastRequest(), r.CurrentFault()
			serve(r, call{target: standin.ControlPrefix + "calls"})
		}
	})
	errs := make(chan string, workers)
	for w := range workers {
		wg.Go(func() {
			for i := range perWorker {
				if msg := cases[(w+i)%len(cases)].check(r); msg != "" {
					errs <- msg
					return
				}
			}
		})
	}
	wg.Wait()
	stop.Store(true)
	mutators.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
	if got := r.Calls(); got != workers*perWorker {
		t.Errorf("Calls = %d, want %d", got, workers*perWorker)
	}
}

// The fixtures in fixtureDir were recorded from a real Authgear server whose
// public origin was 127.0.0.1:23000 and whose resolver listened on
// 127.0.0.1:23001 (see that folder's README.md).
const (
	fixtureDir          = "../../../testdata/fixtures/resolver"
	fixturePublicHost   = "127.0.0.1:23000"
	fixtureResolverHost = "127.0.0.1:23001"
)

// fixtureRequests are the requests that produced the fixtures, as the
// README describes them (Host: the resolver's own address unless said).
var fixtureRequests = map[string]call{
	"no-credentials":                    {},
	"head-no-credentials":               {method: http.MethodHead},
	"session-valid-roles":               {header: "Cookie: session=bob-session"},
	"session-unknown":                   {header: "Cookie: session=bogus.value"},
	"bearer-invalid":                    {header: "Authorization: Bearer x"},
	"bearer-valid-internal-host":        {header: "Authorization: Bearer bob-token"},
	"bearer-valid-public-host":          {host: fixturePublicHost, header: "Authorization: Bearer bob-token"},
	"bearer-valid-forwarded-host":       {header: "Authorization: Bearer bob-token\nX-Forwarded-Host: " + fixturePublicHost},
	"bearer-valid-wrong-forwarded-host": {host: fixturePublicHost, header: "Authorization: Bearer bob-token\nX-Forwarded-Host: api.example.com"},
	"bearer-valid-plus-bogus-session":   {host: fixturePublicHost, header: "Authorization: Bearer bob-token\nCookie: session=bogus.value"},
	"wrong-forwarded-host":              {header: "Cookie: session=bob-session\nX-Forwarded-Host: api.example.com"},
	"post-method":                       {method: http.MethodPost},
	"trailing-slash":                    {target: standin.PathResolve + "/"},
}

// TestFixtures sends each recorded request to the stand-in over a real
// connection and requires the very same status, header set (Content-Length
// included) and body length as the recording. The recorded app has one user
// (bob's id), with the roles in the recording's order.
func TestFixtures(t *testing.T) {
	files, _ := filepath.Glob(fixtureDir + "/*.http")
	if len(files) != len(fixtureRequests) {
		t.Errorf("%d fixtures in %s, %d requests for them", len(files), fixtureDir, len(fixtureRequests))
	}
	srv := httptest.NewServer(standin.New(standin.Config{PublicHost: fixturePublicHost, Users: []standin.User{{
		ID: bobID, Sessions: []string{"bob-session"}, BearerTokens: []string{"bob-token"}, Roles: []string{"editor", "admin"}, AuthenticatedAt: 1795920688,
	}}}))
	defer srv.Close()
	client := srv.Client()
	client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	for _, file := range files {
		name := strings.TrimSuffix(filepath.Base(file), ".http")
		t.Run(name, func(t *testing.T) {
			c, ok := fixtureRequests[name]
			if !ok {
				t.Fatalf("no request for %s: add it to fixtureRequests as the README describes it", file)
			}
			f, err := os.Open(file)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			want, err := http.ReadResponse(bufio.NewReader(f), nil)
			if err != nil {
				t.Fatalf("%s: %v", file, err)
			}
			c.host = cmp.Or(c.host, fixtureResolverHost)
			resp, body, err := send(client, srv.URL, c)
			if err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != want.StatusCode || len(body) != int(max(want.ContentLength, 0)) {
				t.Errorf("%d with a %d-byte body %q, fixture has %d and Content-Length %d", resp.StatusCode, len(body), body, want.StatusCode, want.ContentLength)
			}
			if !sameHeaders(resp.Header, want.Header) {
				t.Errorf("header\n%v\nwant\n%v", resp.Header, want.Header)
			}
		})
	}
}

// TestControl drives the control endpoints in turn after three resolve
// requests; they are never counted as calls, nor subject to faults. A bad
// fault query is refused, saying why, and changes nothing (the valid ones are
// in TestFaults).
func TestControl(t *testing.T) {
	r := standin.New(loadUsers(t))
	for range 3 {
		serve(r, call{})
	}
	const get, post = http.MethodGet, http.MethodPost
	for _, s := range []struct {
		method, path string
		status       int
		want         string // in the answer's body
	}{
		{get, "calls", 200, `{"calls":3}` + "\n"},
		{get, "calls", 200, `{"calls":3}` + "\n"},
		{post, "calls", 405, ""},
		{get, "nope", 404, ""},
		{http.MethodPut, "fault", 405, ""},
		{post, "fault?latency=1s&mode=hang", 200, ""},
		{post, "fault?latency=fast", 400, "latency"},
		{post, "fault?latency=-1s", 400, "non-negative"},
		{post, "fault?status=abc", 400, "status"},
		{post, "fault?status=99", 400, "200 to 599"},
		{post, "fault?mode=explode", 400, "mode"},
		{post, "fault?delay=1s", 400, `unknown parameter "delay"`},
		{get, "fault", 200, `{"latency":"1s","mode":"hang","status":0}` + "\n"},
		{get, "calls", 200, `{"calls":3}`},
		{post, "fault", 200, ""},
		{get, "fault", 200, `{"latency":"0s","mode":"","status":0}`},
	} {
		rec := serve(r, call{method: s.method, target: standin.ControlPrefix + s.path})
		if rec.Code != s.status || !strings.Contains(rec.Body.String(), s.want) {
			t.Errorf("%s %s = %d %q, want %d %q", s.method, s.path, rec.Code, rec.Body, s.status, s.want)
		}
	}
}

// TestFaults sets each fault with POST /_standin/fault (the query in
// Fault.String's form) on a real listener and sends alice's session, on a
// connection of its own (counted as a call); then again once the fault is
// cleared, which must answer normally.
func TestFaults(t *testing.T) {
	for _, tc := range []struct {
		query   string
		timeout time.Duration // the client's; 0: 10 s; -1: that, and Close releases the call once it arrived
		status  int           // 0: no answer (a transport error or the client's timeout)
		body    string
		least   time.Duration // the answer or failure comes no sooner
	}{
		{"", 0, 200, "", 0},
		{"latency=60ms", 0, 200, "", 60 * time.Millisecond},
		{"latency=1m0s", 500 * time.Millisecond, 0, "", 500 * time.Millisecond},
		{"status=500", 0, 500, "internal error\n", 0},
		{"latency=10ms&status=503", 0, 503, "Service Unavailable\n", 10 * time.Millisecond},
		{"status=404", 0, 404, "Not Found\n", 0},
		{"mode=hang", -1, 0, "", 0},
		{"latency=20ms&mode=hang&status=500", 500 * time.Millisecond, 0, "", 500 * time.Millisecond},
		{"mode=close", 0, 0, "", 0},
		{"mode=reset", 0, 0, "", 0},
		{"mode=huge-header", 0, 200, "", 0},
	} {
		t.Run(tc.query, func(t *testing.T) {
			r := standin.New(loadUsers(t))
			srv := httptest.NewServer(r)
			defer srv.Close()
			defer r.Close() // first: the server's Close waits for hung handlers
			if rec := serve(r, call{method: http.MethodPost, target: standin.ControlPrefix + "fault?" + tc.query}); rec.Code != 200 || r.CurrentFault().String() != tc.query {
				t.Fatalf("POST fault: %d %s, fault %q", rec.Code, rec.Body, r.CurrentFault())
			}
			var a struct {
				resp *http.Response
				body string
				err  error
			}
			done, began := make(chan struct{}), time.Now()
			go func() {
				defer close(done)
				c := &http.Client{Timeout: cmp.Or(max(tc.timeout, 0), 10*time.Second), Transport: &http.Transport{DisableKeepAlives: true}}
				a.resp, a.body, a.err = send(c, srv.URL, call{header: "Cookie: session=alice-session"})
			}()
			for tc.timeout < 0 && r.Calls() == 0 {
				time.Sleep(time.Millisecond) // polls for the arrival, then releases it
			}
			if tc.timeout < 0 {
				r.Close()
			}
			<-done
			if got := r.Calls(); got != 1 {
				t.Errorf("Calls = %d, want 1", got)
			}
			if d := time.Since(began); d < tc.least || tc.timeout < 0 && d > 5*time.Second {
				t.Errorf("over after %v, want at least %v (Close releasing a hang at once)", d, tc.least)
			}
			switch {
			case tc.status == 0:
				if a.err == nil {
					t.Fatalf("want no answer, got %d %v", a.resp.StatusCode, a.resp.Header)
				}
			case a.err != nil:
				t.Fatal(a.err)
			case a.resp.StatusCode != tc.status || a.body != tc.body:
				t.Errorf("%d %q, want %d %q", a.resp.StatusCode, a.body, tc.status, tc.body)
			case tc.status == 200 && a.resp.Header.Get("X-Authgear-User-Id") != aliceID:
				t.Errorf("the fault changed the answer: %v", a.resp.Header)
			case tc.status != 200 && (echo.AuthgearSummary(a.resp.Header) != "" || a.resp.Header.Get("Content-Type") != "text/plain; charset=utf-8"):
				t.Errorf("an error answer with identity headers or not in plain text: %v", a.resp.Header)
			}
			if tc.query == "mode=close" || tc.query == "mode=reset" {
				func() { // in process, as under HTTP/2: no connection to take, the handler aborts
					defer func() {
						if err, _ := recover().(error); !errors.Is(err, http.ErrAbortHandler) {
							t.Errorf("in process: panic %v, want http.ErrAbortHandler", err)
						}
					}()
					serve(r, call{})
				}()
			}
			if tc.query == "mode=huge-header" {
				limited := &http.Client{Transport: &http.Transport{MaxResponseHeaderBytes: 64 << 10}}
				if _, _, err := send(limited, srv.URL, call{}); len(a.resp.Header.Get("X-Authgear-Padding")) != standin.HugeHeaderSize || err == nil {
					t.Errorf("want X-Authgear-Padding of %d bytes, refused by a client limiting headers to 64 KiB (%v)", standin.HugeHeaderSize, err)
				}
			}
			r.SetFault(standin.Fault{})
			if resp, _, err := send(http.DefaultClient, srv.URL, call{header: "Cookie: session=alice-session"}); err != nil || resp.Header.Get("X-Authgear-User-Id") != aliceID {
				t.Errorf("after clearing the fault: %v", err)
			}
		})
	}
}

// The repository's users file, shared with the demo, and its users.
const (
	usersFile = "../../../testdata/users.json"
	aliceID   = "7b0f6c42-1a6e-4d0e-9c53-2c1f0f6f5b1e"
	bobID     = "05442258-c3ab-4306-ac99-b347da1fc855"
	carolID   = "3f2d9a57-8e41-4c6b-b0a2-6d5e1c9f7a83"
	anonID    = "c1e5a8d0-2b7f-4f39-9a64-0e8d3b5c7f12"
)

// loadUsers reads the users file, which must be for stack.PublicHost and
// without a cookie prefix.
func loadUsers(t testing.TB) standin.Config {
	t.Helper()
	cfg, err := standin.LoadConfig(usersFile)
	if err != nil || cfg.PublicHost != stack.PublicHost || cfg.CookiePrefix != "" {
		t.Fatalf("LoadConfig(%s) = host %q, prefix %q, %v", usersFile, cfg.PublicHost, cfg.CookiePrefix, err)
	}
	return cfg
}

// call is a request to the stand-in: GET PathResolve on stack.PublicHost
// unless said otherwise, with header lines "Name: value" joined by "\n".
type call struct {
	method, target, host, header string
}

// request builds c against base: "" in process, else a server's URL.
func (c call) request(base string) *http.Request {
	req, err := http.NewRequest(cmp.Or(c.method, http.MethodGet), base+cmp.Or(c.target, standin.PathResolve), nil)
	if err != nil {
		panic(err)
	}
	req.Host = cmp.Or(c.host, stack.PublicHost)
	for _, line := range strings.Split(c.header, "\n") {
		if k, v, ok := strings.Cut(line, ": "); ok {
			req.Header.Add(k, v)
		}
	}
	return req
}

// serve answers c in process.
func serve(h http.Handler, c call) *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, c.request(""))
	return rec
}

// send sends c over a connection to base and reads the answer.
func send(client *http.Client, base string, c call) (*http.Response, string, error) {
	resp, err := client.Do(c.request(base))
	if err != nil {
		return nil, "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return resp, string(body), err
}

// sameHeaders tells whether got and want hold the same headers with the same
// values, but for those the recordings leave out or that vary per answer,
// and a huge-header fault's padding.
func sameHeaders(got, want http.Header) bool {
	got, want = got.Clone(), want.Clone()
	for _, k := range []string{"Date", "Permissions-Policy", "X-Authgear-Padding"} {
		got.Del(k)
		want.Del(k)
	}
	return maps.EqualFunc(got, want, slices.Equal)
}

// with is a plus b's headers.
func with(a, b http.Header) http.Header {
	h := a.Clone()
	maps.Copy(h, b)
	return h
}

// common are the headers of every resolver answer.
var common = http.Header{"X-Content-Type-Options": {"nosniff"}, "X-Robots-Tag": {"noindex, nofollow"}}

// identity is a valid session's answer; roles "" sends no roles header.
func identity(id, anonymous, verified, canReauthenticate, roles, amr string) http.Header {
	h := with(common, http.Header{
		"X-Authgear-Session-Valid":            {"true"},
		"X-Authgear-User-Id":                  {id},
		"X-Authgear-User-Anonymous":           {anonymous},
		"X-Authgear-User-Verified":            {verified},
		"X-Authgear-User-Can-Reauthenticate":  {canReauthenticate},
		"X-Authgear-Session-Amr":              {amr},
		"X-Authgear-Session-Authenticated-At": {"1795920688"},
	})
	if roles != "" {
		h["X-Authgear-User-Roles"] = []string{roles}
	}
	return h
}

// The answers for the users of testdata/users.json, and for a stale IdP
// session cookie of a given name.
var (
	alice = identity(aliceID, "false", "true", "true", "admin,editor", "pwd otp")
	bob   = identity(bobID, "false", "false", "true", "editor", "")
	carol = identity(carolID, "false", "true", "true", "", "pwd")
	anon  = identity(anonID, "true", "false", "false", "", "")
)

func stale(cookie string) http.Header {
	return with(common, http.Header{
		"X-Authgear-Session-Valid": {"false"},
		"Set-Cookie":               {cookie + "=; Path=/; Expires=Thu, 01 Jan 1970 00:00:00 GMT; HttpOnly; SameSite=Lax"},
	})
}

// TestLoadConfig loads users files: every error names the file and the
// problem; a file without publicHost loads (the command's -public-host sets
// it). testdata/users.json itself is loaded by loadUsers.
func TestLoadConfig(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		name, json, want string // want: in the error; "" for none
	}{
		{"not JSON", `{`, "invalid JSON"},
		{"array instead of object", `[]`, "invalid JSON"},
		{"misspelt field", `{"users":[{"id":"a","session":["x"]}]}`, `unknown field "session"`},
		{"trailing data", `{"users":[]} {}`, "exactly one object"},
		{"missing id", `{"users":[{"sessions":["x"]}]}`, "users[0]: id is empty"},
		{"duplicate id", `{"users":[{"id":"a"},{"id":"a"}]}`, `users[1]: id "a" is already used by users[0]`},
		{"shared bearer", `{"users":[{"id":"a","bearerTokens":["t"]},{"id":"b","bearerTokens":["t"]}]}`, `bearerTokens value "t" is also given to user "a"`},
		{"repeated session in one user", `{"users":[{"id":"a","sessions":["s","s"]}]}`, `sessions value "s" is also given to user "a"`},
		{"empty credential", `{"users":[{"id":"a","appSessions":[""]}]}`, "appSessions has an empty value"},
		{"cookie value with space", `{"users":[{"id":"a","sessions":["a b"]}]}`, "cannot be sent as a cookie"},
		{"role with comma", `{"users":[{"id":"a","roles":["a,b"]}]}`, "without commas"},
		{"bad cookie prefix", `{"cookiePrefix":"a b","users":[]}`, "cookiePrefix"},
		{"public host with path", `{"publicHost":"auth.example.com/x","users":[]}`, "bare host"},
		{"no public host", `{"users":[{"id":"a","bearerTokens":["t"]}]}`, ""},
		{"authenticatedAgo not a duration", `{"users":[{"id":"a","authenticatedAgo":"soon"}]}`, `authenticatedAgo "soon" must be a duration`},
		{"authenticatedAgo as a number", `{"users":[{"id":"a","authenticatedAgo":60}]}`, "authenticatedAgo must be a duration string"},
		{"negative authenticatedAgo", `{"users":[{"id":"a","authenticatedAgo":"-1m"}]}`, "authenticatedAgo must be positive"},
		{"authenticatedAgo and authenticatedAt", `{"users":[{"id":"a","authenticatedAgo":"1m","authenticatedAt":1795920688}]}`, "not given with authenticatedAt"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(dir, strings.ReplaceAll(tc.name, " ", "-")+".json")
			if err := os.WriteFile(path, []byte(tc.json), 0o600); err != nil {
				t.Fatal(err)
			}
			cfg, err := standin.LoadConfig(path)
			if tc.want == "" && (err != nil || cfg.PublicHost != "" || len(cfg.Users) != 1) {
				t.Errorf("LoadConfig = %+v, %v; want one user and no public host", cfg, err)
			}
			if tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), path)) {
				t.Errorf("LoadConfig error = %v, want one naming the file and containing %q", err, tc.want)
			}
		})
	}
	if _, err := standin.LoadConfig(filepath.Join(dir, "nope.json")); err == nil || !strings.Contains(err.Error(), "read users file") {
		t.Errorf("a missing file: %v, want a read error", err)
	}
}

// TestAuthenticatedAgo: a user signed in "an hour ago" is, at each answer,
// signed in an hour before that answer, not before the stand-in started;
// a users file gives it as a duration, and writes it back as one.
func TestAuthenticatedAgo(t *testing.T) {
	path := filepath.Join(t.TempDir(), "users.json")
	file := `{"publicHost":"` + stack.PublicHost + `","users":[{"id":"recent","sessions":["recent-session"],"amr":"mfa","authenticatedAgo":"1h"}]}`
	if err := os.WriteFile(path, []byte(file), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := standin.LoadConfig(path)
	if err != nil || len(cfg.Users) != 1 || cfg.Users[0].AuthenticatedAgo != standin.Ago(time.Hour) {
		t.Fatalf("LoadConfig = %+v, %v; want one user signed in 1h ago", cfg, err)
	}
	if data, err := json.Marshal(cfg.Users[0]); err != nil || !strings.Contains(string(data), `"authenticatedAgo":"1h0m0s"`) {
		t.Errorf("json.Marshal = %s, %v; want authenticatedAgo as a duration string", data, err)
	}
	r := standin.New(cfg)
	for start := time.Now().Unix(); time.Now().Unix() == start; {
		time.Sleep(10 * time.Millisecond) // the clock's second ticks: a time taken at New is now a second off
	}
	earliest := time.Now().Add(-time.Hour).Unix()
	rec := serve(r, call{header: "Cookie: session=recent-session"})
	latest := time.Now().Add(-time.Hour).Unix()
	at, err := strconv.ParseInt(rec.Result().Header.Get("X-Authgear-Session-Authenticated-At"), 10, 64)
	if err != nil || at < earliest || at > latest {
		t.Fatalf("X-Authgear-Session-Authenticated-At %d (%v), want %d to %d: an hour before the answer", at, err, earliest, latest)
	}
	want := identity("recent", "false", "false", "true", "", "mfa")
	want.Set("X-Authgear-Session-Authenticated-At", strconv.FormatInt(at, 10))
	if got := rec.Result().Header; !sameHeaders(got, want) {
		t.Errorf("header %v, want %v", got, want)
	}
}
