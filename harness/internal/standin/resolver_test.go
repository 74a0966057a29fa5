package standin_test

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/traefik-authgear/traefik-authgear/harness/internal/standin"
)

const (
	publicHost = "auth.example.test"
	aliceID    = "7b0f6c42-1a6e-4d0e-9c53-2c1f0f6f5b1e"
	bobID      = "05442258-c3ab-4306-ac99-b347da1fc855"
	carolID    = "3f2d9a57-8e41-4c6b-b0a2-6d5e1c9f7a83"
	anonID     = "c1e5a8d0-2b7f-4f39-9a64-0e8d3b5c7f12"
)

// usersFile is the repository's users file, shared with the demo.
const usersFile = "../../../testdata/users.json"

func loadUsers(t testing.TB) standin.Config {
	t.Helper()
	cfg, err := standin.LoadConfig(usersFile)
	if err != nil {
		t.Fatalf("LoadConfig: %v", err)
	}
	return cfg
}

// Expected resolver headers: the two every resolver answer carries, plus the
// identity of each user in testdata/users.json.
var (
	common = http.Header{
		"X-Content-Type-Options": {"nosniff"},
		"X-Robots-Tag":           {"noindex, nofollow"},
	}
	alice = with(common, http.Header{
		"X-Authgear-Session-Valid":            {"true"},
		"X-Authgear-User-Id":                  {aliceID},
		"X-Authgear-User-Anonymous":           {"false"},
		"X-Authgear-User-Verified":            {"true"},
		"X-Authgear-User-Can-Reauthenticate":  {"true"},
		"X-Authgear-User-Roles":               {"admin,editor"},
		"X-Authgear-Session-Amr":              {"pwd otp"},
		"X-Authgear-Session-Authenticated-At": {"1795920688"},
	})
	bob = with(common, http.Header{
		"X-Authgear-Session-Valid":            {"true"},
		"X-Authgear-User-Id":                  {bobID},
		"X-Authgear-User-Anonymous":           {"false"},
		"X-Authgear-User-Verified":            {"false"},
		"X-Authgear-User-Can-Reauthenticate":  {"true"},
		"X-Authgear-User-Roles":               {"editor"},
		"X-Authgear-Session-Amr":              {""},
		"X-Authgear-Session-Authenticated-At": {"1795920688"},
	})
	carol = with(common, http.Header{
		"X-Authgear-Session-Valid":            {"true"},
		"X-Authgear-User-Id":                  {carolID},
		"X-Authgear-User-Anonymous":           {"false"},
		"X-Authgear-User-Verified":            {"true"},
		"X-Authgear-User-Can-Reauthenticate":  {"true"},
		"X-Authgear-Session-Amr":              {"pwd"},
		"X-Authgear-Session-Authenticated-At": {"1795920688"},
	})
	anon = with(common, http.Header{
		"X-Authgear-Session-Valid":            {"true"},
		"X-Authgear-User-Id":                  {anonID},
		"X-Authgear-User-Anonymous":           {"true"},
		"X-Authgear-User-Verified":            {"false"},
		"X-Authgear-User-Can-Reauthenticate":  {"false"},
		"X-Authgear-Session-Amr":              {""},
		"X-Authgear-Session-Authenticated-At": {"1795920688"},
	})
	noIdentity   = common
	staleSession = with(common, http.Header{
		"X-Authgear-Session-Valid": {"false"},
		"Set-Cookie":               {"session=; Path=/; Expires=Thu, 01 Jan 1970 00:00:00 GMT; HttpOnly; SameSite=Lax"},
	})
)

func with(a, b http.Header) http.Header {
	h := a.Clone()
	for k, v := range b {
		h[k] = v
	}
	return h
}

// resolveCase is one request to the stand-in and the exact answer expected.
type resolveCase struct {
	name   string
	method string // GET when empty
	target string // PathResolve when empty
	host   string // publicHost when empty
	header map[string]string
	status int // 200 when zero
	want   http.Header
}

func runResolveCases(t *testing.T, h http.Handler, cases []resolveCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			method, target, host, status := tc.method, tc.target, tc.host, tc.status
			if method == "" {
				method = http.MethodGet
			}
			if target == "" {
				target = standin.PathResolve
			}
			if host == "" {
				host = publicHost
			}
			if status == 0 {
				status = http.StatusOK
			}
			req := httptest.NewRequest(method, target, nil)
			req.Host = host
			for k, v := range tc.header {
				req.Header.Set(k, v)
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != status {
				t.Errorf("status = %d, want %d (body %q)", rec.Code, status, rec.Body.String())
			}
			compareHeaders(t, rec.Result().Header, tc.want)
			if status == http.StatusOK && rec.Body.Len() != 0 {
				t.Errorf("body = %q, want empty", rec.Body.String())
			}
		})
	}
}

func TestResolveCredentials(t *testing.T) {
	r := standin.New(loadUsers(t))
	runResolveCases(t, r, []resolveCase{
		{name: "no credential", want: noIdentity},
		{name: "bearer on public host", header: map[string]string{"Authorization": "Bearer alice-token"}, want: alice},
		{name: "bearer scheme is case-insensitive", header: map[string]string{"Authorization": "bEaReR alice-token"}, want: alice},
		{name: "bearer with two spaces is another token", header: map[string]string{"Authorization": "Bearer  alice-token"}, want: noIdentity},
		{name: "basic auth is no credential", header: map[string]string{"Authorization": "Basic YWxpY2U6eA=="}, want: noIdentity},
		{name: "bearer via forwarded public host", host: "resolver.internal:3001", header: map[string]string{"Authorization": "Bearer bob-token", "X-Forwarded-Host": publicHost}, want: bob},
		{name: "bearer on internal host", host: "resolver.internal:3001", header: map[string]string{"Authorization": "Bearer alice-token"}, want: noIdentity},
		{name: "bearer with API's forwarded host", header: map[string]string{"Authorization": "Bearer alice-token", "X-Forwarded-Host": "api.example.test"}, want: noIdentity},
		{name: "bearer host needs exact match", host: publicHost + ":443", header: map[string]string{"Authorization": "Bearer alice-token"}, want: noIdentity},
		{name: "unknown bearer", header: map[string]string{"Authorization": "Bearer nope"}, want: noIdentity},
		{name: "app_session cookie", header: map[string]string{"Cookie": "app_session=alice-app-session"}, want: alice},
		{name: "app_access_token cookie", header: map[string]string{"Cookie": "app_access_token=bob-app-token"}, want: bob},
		{name: "session cookie", header: map[string]string{"Cookie": "session=carol-session"}, want: carol},
		{name: "anonymous user", header: map[string]string{"Cookie": "session=anon-session"}, want: anon},
		{name: "anonymous bearer", header: map[string]string{"Authorization": "Bearer anon-token"}, want: anon},
		{name: "cookies are not host-bound", host: "resolver.internal:3001", header: map[string]string{"Cookie": "session=alice-session", "X-Forwarded-Host": "api.example.test"}, want: alice},
		{name: "unknown session cookie", header: map[string]string{"Cookie": "session=bogus.value"}, want: staleSession},
		{name: "empty session cookie", header: map[string]string{"Cookie": "session="}, want: staleSession},
		{name: "unknown app_session", header: map[string]string{"Cookie": "app_session=bogus"}, want: noIdentity},
		{name: "unknown app_access_token", header: map[string]string{"Cookie": "app_access_token=bogus"}, want: noIdentity},
		{name: "other cookies only", header: map[string]string{"Cookie": "theme=dark; sessionx=alice-session"}, want: noIdentity},
		{name: "session value from another kind", header: map[string]string{"Cookie": "session=alice-app-session"}, want: staleSession},

		// Order: bearer, app_session, app_access_token, session; first valid wins.
		{name: "bearer beats app_session", header: map[string]string{"Authorization": "Bearer bob-token", "Cookie": "app_session=alice-app-session"}, want: bob},
		{name: "bearer off-host falls to app_session", host: "resolver.internal:3001", header: map[string]string{"Authorization": "Bearer bob-token", "Cookie": "app_session=alice-app-session"}, want: alice},
		{name: "app_session beats app_access_token", header: map[string]string{"Cookie": "app_access_token=bob-app-token; app_session=alice-app-session"}, want: alice},
		{name: "app_access_token beats session", header: map[string]string{"Cookie": "session=alice-session; app_access_token=bob-app-token"}, want: bob},
		{name: "invalid app_session falls to session", header: map[string]string{"Cookie": "app_session=bogus; session=carol-session"}, want: carol},
		{name: "invalid bearer falls to session", header: map[string]string{"Authorization": "Bearer nope", "Cookie": "session=carol-session"}, want: carol},
		{name: "valid bearer hides stale session", header: map[string]string{"Authorization": "Bearer bob-token", "Cookie": "session=bogus"}, want: bob},
		{name: "valid app_session hides stale session", header: map[string]string{"Cookie": "app_session=alice-app-session; session=bogus"}, want: alice},
		{name: "invalid everything with stale session", header: map[string]string{"Authorization": "Bearer nope", "Cookie": "app_session=x; app_access_token=y; session=z"}, want: staleSession},
		{name: "first of repeated cookies counts", header: map[string]string{"Cookie": "session=bogus; session=alice-session"}, want: staleSession},

		// Methods, paths and the query.
		{name: "HEAD", method: http.MethodHead, header: map[string]string{"Cookie": "session=alice-session"}, want: alice},
		{name: "query is ignored", target: standin.PathResolve + "?user=bob", header: map[string]string{"Cookie": "session=alice-session"}, want: alice},
		{name: "short path", target: standin.PathResolveShort, header: map[string]string{"Cookie": "session=alice-session"}, want: alice},
		{name: "POST", method: http.MethodPost, status: http.StatusMethodNotAllowed, want: methodNotAllowed},
		{name: "OPTIONS", method: http.MethodOptions, status: http.StatusMethodNotAllowed, want: methodNotAllowed},
		{name: "DELETE with a valid session", method: http.MethodDelete, header: map[string]string{"Cookie": "session=alice-session"}, status: http.StatusMethodNotAllowed, want: methodNotAllowed},
		{name: "trailing slash keeps the query", target: standin.PathResolve + "/?a=1", status: http.StatusMovedPermanently, want: http.Header{
			"Location":     {standin.PathResolve + "?a=1"},
			"Content-Type": {"text/html; charset=utf-8"},
		}},
		{name: "short path trailing slash", target: standin.PathResolveShort + "/", status: http.StatusMovedPermanently, want: http.Header{
			"Location":     {standin.PathResolveShort},
			"Content-Type": {"text/html; charset=utf-8"},
		}},
		{name: "HEAD trailing slash", method: http.MethodHead, target: standin.PathResolve + "/", status: http.StatusPermanentRedirect, want: http.Header{
			"Location":     {standin.PathResolve},
			"Content-Type": {"text/html; charset=utf-8"},
		}},
		{name: "POST trailing slash", method: http.MethodPost, target: standin.PathResolve + "/", status: http.StatusNotFound, want: notFound},
		{name: "unknown path", target: "/_resolver/other", status: http.StatusNotFound, want: notFound},
		{name: "root", target: "/", status: http.StatusNotFound, want: notFound},
	})
}

var (
	methodNotAllowed = http.Header{
		"Allow":                  {"GET, HEAD, OPTIONS"},
		"Content-Type":           {"text/plain; charset=utf-8"},
		"X-Content-Type-Options": {"nosniff"},
	}
	notFound = http.Header{
		"Content-Type":           {"text/plain; charset=utf-8"},
		"X-Content-Type-Options": {"nosniff"},
	}
)

func TestMethodNotAllowedBody(t *testing.T) {
	rec := httptest.NewRecorder()
	standin.New(loadUsers(t)).ServeHTTP(rec, httptest.NewRequest(http.MethodPut, standin.PathResolve, nil))
	if got := rec.Body.String(); got != "Method Not Allowed\n" {
		t.Errorf("405 body = %q, want %q", got, "Method Not Allowed\n")
	}
}

func TestCookiePrefix(t *testing.T) {
	cfg := loadUsers(t)
	cfg.CookiePrefix = "ag_"
	r := standin.New(cfg)
	runResolveCases(t, r, []resolveCase{
		{name: "prefixed session", header: map[string]string{"Cookie": "ag_session=alice-session"}, want: alice},
		{name: "prefixed app_session", header: map[string]string{"Cookie": "ag_app_session=bob-app-session"}, want: bob},
		{name: "prefixed app_access_token", header: map[string]string{"Cookie": "ag_app_access_token=alice-app-token"}, want: alice},
		{name: "unprefixed cookies are ignored", header: map[string]string{"Cookie": "session=alice-session; app_session=alice-app-session; app_access_token=alice-app-token"}, want: noIdentity},
		{name: "stale prefixed session is cleared by its own name", header: map[string]string{"Cookie": "ag_session=bogus"}, want: with(common, http.Header{
			"X-Authgear-Session-Valid": {"false"},
			"Set-Cookie":               {"ag_session=; Path=/; Expires=Thu, 01 Jan 1970 00:00:00 GMT; HttpOnly; SameSite=Lax"},
		})},
		{name: "bearer is unaffected", header: map[string]string{"Authorization": "Bearer carol-token"}, want: carol},
	})
}

func TestNoPublicHostRejectsBearer(t *testing.T) {
	cfg := loadUsers(t)
	cfg.PublicHost = ""
	r := standin.New(cfg)
	req := httptest.NewRequest(http.MethodGet, standin.PathResolve, nil)
	req.Host = "" // an HTTP/1.0 request without Host must not match the empty public host
	req.Header.Set("Authorization", "Bearer alice-token")
	rec := httptest.NewRecorder()
	r.ServeHTTP(rec, req)
	compareHeaders(t, rec.Result().Header, noIdentity)
}

func TestSetUsersDisablesUser(t *testing.T) {
	cfg := loadUsers(t)
	r := standin.New(cfg)
	users := r.Users()
	for i := range users {
		if users[i].ID == aliceID {
			users[i].Sessions, users[i].BearerTokens = nil, nil
		}
	}
	r.SetUsers(users)
	runResolveCases(t, r, []resolveCase{
		{name: "disabled session is stale", header: map[string]string{"Cookie": "session=alice-session"}, want: staleSession},
		{name: "disabled bearer is no identity", header: map[string]string{"Authorization": "Bearer alice-token"}, want: noIdentity},
		{name: "untouched app session", header: map[string]string{"Cookie": "app_session=alice-app-session"}, want: alice},
		{name: "other users unaffected", header: map[string]string{"Cookie": "session=bob-session"}, want: bob},
	})
	// Public host and prefix survive SetUsers.
	runResolveCases(t, r, []resolveCase{
		{name: "bearer still bound to host", host: "other.test", header: map[string]string{"Authorization": "Bearer bob-token"}, want: noIdentity},
	})
}

func TestConfigIsCopied(t *testing.T) {
	cfg := loadUsers(t)
	r := standin.New(cfg)
	cfg.Users[0].Roles[0] = "changed"
	cfg.Users[0].Sessions[0] = "changed"
	runResolveCases(t, r, []resolveCase{
		{name: "caller's later edits do not leak in", header: map[string]string{"Cookie": "session=alice-session"}, want: alice},
	})
}

func TestDuplicateCredentialFirstUserWins(t *testing.T) {
	r := standin.New(standin.Config{PublicHost: publicHost, Users: []standin.User{
		{ID: "first", Sessions: []string{"shared"}},
		{ID: "second", Sessions: []string{"shared"}},
	}})
	rec := httptest.NewRecorder()
	req := httptest.NewRequest(http.MethodGet, standin.PathResolve, nil)
	req.AddCookie(&http.Cookie{Name: "session", Value: "shared"})
	r.ServeHTTP(rec, req)
	if got := rec.Header().Get("X-Authgear-User-Id"); got != "first" {
		t.Errorf("user id = %q, want first", got)
	}
}

func TestCallsAndLastRequest(t *testing.T) {
	r := standin.New(loadUsers(t))
	if r.LastRequest() != nil {
		t.Fatal("LastRequest before any request: want nil")
	}
	send := func(method, target string, header map[string]string) {
		req := httptest.NewRequest(method, target, nil)
		for k, v := range header {
			req.Header.Set(k, v)
		}
		r.ServeHTTP(httptest.NewRecorder(), req)
	}
	send(http.MethodGet, standin.PathResolve+"?x=1", map[string]string{"Cookie": "session=alice-session", "X-Forwarded-For": "203.0.113.9"})
	send(http.MethodGet, standin.ControlPrefix+"calls", nil)
	send(http.MethodGet, "/elsewhere", nil)
	send(http.MethodGet, standin.PathResolve+"/", nil)
	if got := r.Calls(); got != 1 {
		t.Errorf("Calls = %d, want 1 (control, 404 and redirect requests are not calls)", got)
	}
	last := r.LastRequest()
	if last == nil {
		t.Fatal("LastRequest = nil after a resolve request")
	}
	if last.Method != http.MethodGet || last.URL.RawQuery != "x=1" || last.Header.Get("X-Forwarded-For") != "203.0.113.9" || last.Header.Get("Cookie") != "session=alice-session" {
		t.Errorf("LastRequest = %s %s %v, want the resolve request", last.Method, last.URL, last.Header)
	}
	last.Header.Set("Cookie", "mutated")
	if got := r.LastRequest().Header.Get("Cookie"); got != "session=alice-session" {
		t.Errorf("mutating a LastRequest copy changed the next one: %q", got)
	}
	send(http.MethodPost, standin.PathResolveShort, nil)
	if got := r.Calls(); got != 2 {
		t.Errorf("Calls = %d, want 2 (a 405 on the resolve path is still a call)", got)
	}
	if got := r.LastRequest(); got.Method != http.MethodPost || got.URL.Path != standin.PathResolveShort {
		t.Errorf("LastRequest = %s %s, want POST %s", got.Method, got.URL.Path, standin.PathResolveShort)
	}
	r.ResetCalls()
	if got := r.Calls(); got != 0 {
		t.Errorf("Calls after ResetCalls = %d, want 0", got)
	}
}
