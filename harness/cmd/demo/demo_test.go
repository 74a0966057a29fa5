package main

import (
	"net/http"
	"net/http/httptest"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/traefik-authgear/traefik-authgear/harness/internal/echo"
	"github.com/traefik-authgear/traefik-authgear/harness/internal/stack"
	"github.com/traefik-authgear/traefik-authgear/harness/internal/standin"
)

// TestOptions renders the demo's stack for a real Authgear without
// AUTHGEAR_HOST (the stand-in's resolverHost: e2e TestDemoCheck).
func TestOptions(t *testing.T) {
	url := "https://myapp.authgear.cloud/_resolver/resolve"
	o := options(settings{addr: "127.0.0.1:1", resolverURL: url}, "/bin/traefik")
	if o.ResolverURL != url || o.ResolverHost != "" || o.Traefik.EntryAddr != "127.0.0.1:1" || o.Traefik.Binary != "/bin/traefik" {
		t.Errorf("options %+v", o)
	}
	st := &stack.Stack{ResolverURLs: map[string]string{"authgear": url, "authgear-admin": url, "authgear-step-up": url}}
	var d struct {
		HTTP struct {
			Routers map[string]struct {
				Rule        string
				Middlewares []string
			}
			Middlewares map[string]struct {
				Plugin struct{ Authgear map[string]any }
			}
		}
	}
	if err := yaml.Unmarshal([]byte(st.Dynamic(o.Middlewares, o.Routes)), &d); err != nil {
		t.Fatal(err)
	}
	got := map[string]any{}
	for _, r := range d.HTTP.Routers {
		got[r.Rule] = r.Middlewares
	}
	for name, mw := range d.HTTP.Middlewares {
		got[name] = mw.Plugin.Authgear
	}
	want := map[string]any{
		"PathPrefix(`/`)": []string{"authgear"}, "PathPrefix(`/admin`)": []string{"authgear-admin"},
		"PathPrefix(`/settings`)": []string{"authgear-step-up"},
		"authgear":                map[string]any{"resolverURL": url, "cacheTTL": "60s"},
		"authgear-admin":          map[string]any{"resolverURL": url, "cacheTTL": "60s", "allowedRoles": []any{"admin"}},
		"authgear-step-up": map[string]any{"resolverURL": url, "cacheTTL": "60s", "requireAMR": []any{"mfa"},
			"maxAuthAge": "5m", "loginURL": "/login"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("routes and middlewares %v, want %v", got, want)
	}
}

// TestExampleChecks: the checks tell a right answer from a wrong one, every
// stand-in example has one, and an example renders as a curl command.
func TestExampleChecks(t *testing.T) {
	alice := &echo.Request{Method: "GET", Headers: map[string][]string{"X-Authgear-User-Id": {aliceID}}}
	none := &echo.Request{Method: "GET", Headers: map[string][]string{"Accept": {"*/*"}}}
	const (
		realm  = `Bearer realm="auth.example.test"`
		stepUp = realm + `, error="insufficient_user_authentication", error_description="Sign in again."`
		login  = "/login?redirect_uri=http%3A%2F%2F127.0.0.1%3A8080%2Fsettings"
	)
	challenge := func(c string) http.Header { return http.Header{"Www-Authenticate": {c}} }
	problem := http.Header{"Www-Authenticate": {stepUp + ", max_age=300"}, "Content-Type": {"application/problem+json"}}
	const recent = `{"type":"https://example.test/#authentication_age","title":"Recent sign-in required","status":401,"detail":"Sign in again."}`
	for _, tc := range []struct {
		name  string
		check func(response) error
		got   response
		ok    bool
	}{
		{"identity as expected", wantIdentity(aliceID), response{status: 200, backend: alice}, true},
		{"identity missing", wantIdentity(aliceID), response{status: 200, backend: none}, false},
		{"no identity as expected", wantIdentity(""), response{status: 200, backend: none}, true},
		{"identity where none is expected", wantIdentity(""), response{status: 200, backend: alice}, false},
		{"refused", wantIdentity(aliceID), response{status: 403}, false},
		{"403 as expected", wantStatus(http.StatusForbidden), response{status: 403}, true},
		{"backend reached instead of 403", wantStatus(http.StatusForbidden), response{status: 200, backend: alice}, false},
		{"step-up as expected", wantStepUp(""), response{status: 401, header: challenge(stepUp)}, true},
		{"bare challenge for a step-up", wantStepUp(""), response{status: 401, header: challenge(realm)}, false},
		{"step-up without max_age", wantStepUp(", max_age=300"), response{status: 401, header: challenge(stepUp)}, false},
		{"step-up as 403", wantStepUp(""), response{status: 403, header: challenge(stepUp)}, false},
		{"problem as expected", wantProblem("Recent sign-in required", ", max_age=300"), response{status: 401, header: problem, body: []byte(recent)}, true},
		{"problem with another title", wantProblem("Stronger sign-in required", ", max_age=300"), response{status: 401, header: problem, body: []byte(recent)}, false},
		{"text instead of a problem", wantProblem("Recent sign-in required", ", max_age=300"), response{status: 401, header: challenge(stepUp + ", max_age=300"), body: []byte("Sign in again.")}, false},
		{"redirect as expected", wantRedirect("&prompt=login&amr_values=mfa"), response{status: 302, header: http.Header{"Location": {login + "&prompt=login&amr_values=mfa"}}}, true},
		{"plain redirect as expected", wantRedirect(""), response{status: 302, header: http.Header{"Location": {login}}}, true},
		{"redirect without the step-up", wantRedirect("&prompt=login&amr_values=mfa"), response{status: 302, header: http.Header{"Location": {login}}}, false},
		{"redirect elsewhere", wantRedirect(""), response{status: 302, header: http.Header{"Location": {"https://evil.example" + login}}}, false},
		{"401 instead of a redirect", wantRedirect(""), response{status: 401, header: challenge(realm)}, false},
	} {
		if err := tc.check(tc.got); (err == nil) != tc.ok {
			t.Errorf("%s: check = %v, want ok %v", tc.name, err, tc.ok)
		}
	}
	for _, ex := range examples(false) {
		if ex.check == nil {
			t.Errorf("stand-in example %q has no check", ex.title)
		}
	}
	ex := example{path: "/settings", headers: []string{"Authorization: Bearer bob-token", "Accept: text/html"}}
	if got := ex.curl("http://127.0.0.1:8080"); got != "curl -i -H 'Authorization: Bearer bob-token' -H 'Accept: text/html' http://127.0.0.1:8080/settings" {
		t.Errorf("curl() = %q", got)
	}
}

// TestDemoUsers: the demo's users load in the stand-in; dave and erin signed
// in with MFA, a minute and two hours before each answer.
func TestDemoUsers(t *testing.T) {
	cfg, err := demoUsers()
	if err != nil {
		t.Fatal(err)
	}
	r := standin.New(cfg)
	for _, u := range []struct {
		token string
		ago   time.Duration
	}{{"dave-token", time.Minute}, {"erin-token", 2 * time.Hour}} {
		req := httptest.NewRequest(http.MethodGet, standin.PathResolve, nil)
		req.Host = cfg.PublicHost
		req.Header.Set("Authorization", "Bearer "+u.token)
		rec := httptest.NewRecorder()
		want := time.Now().Add(-u.ago).Unix()
		r.ServeHTTP(rec, req)
		h := rec.Result().Header
		at, _ := strconv.ParseInt(h.Get("X-Authgear-Session-Authenticated-At"), 10, 64)
		if amr := h.Get("X-Authgear-Session-Amr"); !strings.Contains(" "+amr+" ", " mfa ") || at < want-1 || at > want+1 {
			t.Errorf("%s: amr %q, signed in at %d; want mfa, at %d", u.token, amr, at, want)
		}
	}
}
