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
// AUTHGEAR_HOST (the stack gives every middleware the resolver URL, and no
// resolverHost): both routes, both middlewares with cacheTTL, /admin's with
// allowedRoles. The stand-in's resolverHost is checked by e2e TestDemoCheck.
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
	routes := map[string][]string{}
	for _, r := range d.HTTP.Routers {
		routes[r.Rule] = r.Middlewares
	}
	mws := map[string]map[string]any{}
	for name, mw := range d.HTTP.Middlewares {
		mws[name] = mw.Plugin.Authgear
	}
	wantRoutes := map[string][]string{"PathPrefix(`/`)": {"authgear"}, "PathPrefix(`/admin`)": {"authgear-admin"}}
	wantMws := map[string]map[string]any{
		"authgear":       {"resolverURL": url, "cacheTTL": "60s"},
		"authgear-admin": {"resolverURL": url, "cacheTTL": "60s", "allowedRoles": []any{"admin"}},
	}
	if !reflect.DeepEqual(routes, wantRoutes) || !reflect.DeepEqual(mws, wantMws) {
		t.Errorf("routes %v, middlewares %v; want %v, %v", routes, mws, wantRoutes, wantMws)
	}
}

func TestExampleCurl(t *testing.T) {
	ex := example{path: "/admin", header: "Authorization: Bearer bob-token"}
	want := "curl -i -H 'Authorization: Bearer bob-token' http://127.0.0.1:8080/admin"
	if got := ex.curl("http://127.0.0.1:8080"); got != want {
		t.Errorf("curl() = %q, want %q", got, want)
	}
}

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
	for _, real := range []bool{false, true} {
		for _, ex := range examples(real) {
			if !real && ex.check == nil {
				t.Errorf("stand-in example %q has no check", ex.title)
			}
		}
	}
}
