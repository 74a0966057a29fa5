package main

import (
	"net/http"
	"reflect"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/traefik-authgear/traefik-authgear/harness/internal/echo"
	"github.com/traefik-authgear/traefik-authgear/harness/internal/stack"
)

// TestOptions renders the demo's stack for a real Authgear without
// AUTHGEAR_HOST (the stand-in's resolverHost: e2e TestDemoCheck).
func TestOptions(t *testing.T) {
	url := "https://myapp.authgear.cloud/_resolver/resolve"
	o := options(settings{addr: "127.0.0.1:1", resolverURL: url}, "/bin/traefik")
	if o.ResolverURL != url || o.ResolverHost != "" || o.Traefik.EntryAddr != "127.0.0.1:1" || o.Traefik.Binary != "/bin/traefik" {
		t.Errorf("options %+v", o)
	}
	st := &stack.Stack{ResolverURLs: map[string]string{"authgear": url, "authgear-admin": url}}
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
		"authgear":       map[string]any{"resolverURL": url, "cacheTTL": "60s"},
		"authgear-admin": map[string]any{"resolverURL": url, "cacheTTL": "60s", "allowedRoles": []any{"admin"}},
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
	for _, tc := range []struct {
		name    string
		check   func(int, *echo.Request) error
		status  int
		backend *echo.Request
		ok      bool
	}{
		{"identity as expected", wantIdentity(aliceID), 200, alice, true},
		{"identity missing", wantIdentity(aliceID), 200, none, false},
		{"no identity as expected", wantIdentity(""), 200, none, true},
		{"identity where none is expected", wantIdentity(""), 200, alice, false},
		{"refused", wantIdentity(aliceID), 403, nil, false},
		{"403 as expected", wantStatus(http.StatusForbidden), 403, nil, true},
		{"backend reached instead of 403", wantStatus(http.StatusForbidden), 200, alice, false},
	} {
		if err := tc.check(tc.status, tc.backend); (err == nil) != tc.ok {
			t.Errorf("%s: check = %v, want ok %v", tc.name, err, tc.ok)
		}
	}
	for _, ex := range examples(false) {
		if ex.check == nil {
			t.Errorf("stand-in example %q has no check", ex.title)
		}
	}
	ex := example{path: "/admin", header: "Authorization: Bearer bob-token"}
	if got := ex.curl("http://127.0.0.1:8080"); got != "curl -i -H 'Authorization: Bearer bob-token' http://127.0.0.1:8080/admin" {
		t.Errorf("curl() = %q", got)
	}
}
