package main

import (
	"net/http"
	"strings"
	"testing"

	"github.com/traefik-authgear/traefik-authgear/harness/internal/echo"
)

func TestDynamicConfig(t *testing.T) {
	for _, tc := range []struct {
		name, url, host string
		want, unwanted  []string
	}{
		{"stand-in", "http://127.0.0.1:1/_resolver/resolve", "auth.example.test",
			[]string{`resolverURL: "http://127.0.0.1:1/_resolver/resolve"`, `resolverHost: "auth.example.test"`}, nil},
		{"real Authgear without AUTHGEAR_HOST", "https://myapp.authgear.cloud/_resolver/resolve", "",
			[]string{`resolverURL: "https://myapp.authgear.cloud/_resolver/resolve"`}, []string{"resolverHost"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			y := dynamicConfig(tc.url, tc.host, "http://127.0.0.1:2")
			want := append(tc.want,
				"      rule: PathPrefix(`/admin`)\n      middlewares: [authgear-admin]\n",
				"          allowedRoles: [admin]\n",
				`- url: "http://127.0.0.1:2"`)
			if n := strings.Count(y, "resolverURL:"); n != 2 {
				t.Errorf("%d resolverURL lines, want 2 (one per middleware):\n%s", n, y)
			}
			for _, w := range want {
				if !strings.Contains(y, w) {
					t.Errorf("configuration lacks %q:\n%s", w, y)
				}
			}
			for _, u := range tc.unwanted {
				if strings.Contains(y, u) {
					t.Errorf("configuration has %q:\n%s", u, y)
				}
			}
		})
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
