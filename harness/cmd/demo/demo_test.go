package main

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"net/http"
	"net/http/httptest"
	"os"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"gopkg.in/yaml.v3"

	"github.com/traefik-authgear/traefik-authgear/harness/internal/assertion"
	"github.com/traefik-authgear/traefik-authgear/harness/internal/echo"
	"github.com/traefik-authgear/traefik-authgear/harness/internal/stack"
	"github.com/traefik-authgear/traefik-authgear/harness/internal/standin"
)

// TestOptions renders the demo's stack for a real Authgear without
// AUTHGEAR_HOST (the stand-in's resolverHost: e2e TestDemoCheck): the three
// middlewares sign with the demo key for the one backend, "authgear"
// publishes the keys, and the backend verifies.
func TestOptions(t *testing.T) {
	url := "https://myapp.authgear.cloud/_resolver/resolve"
	o := options(settings{addr: "127.0.0.1:1", resolverURL: url, assertionKeyFile: "/tmp/key.pem"}, "/bin/traefik")
	if o.ResolverURL != url || o.ResolverHost != "" || o.Traefik.EntryAddr != "127.0.0.1:1" || o.Traefik.Binary != "/bin/traefik" || o.Echo.Assertion == nil {
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
	signed := func(opts map[string]any) map[string]any {
		opts["jwtAssertion"], opts["jwtAssertionKeyFile"] = true, "/tmp/key.pem"
		opts["jwtAssertionIssuer"], opts["jwtAssertionAudience"] = "traefik-authgear-demo", "demo-backend"
		return opts
	}
	want := map[string]any{
		"PathPrefix(`/`)": []string{"authgear"}, "PathPrefix(`/admin`)": []string{"authgear-admin"},
		"PathPrefix(`/settings`)": []string{"authgear-step-up"},
		"authgear":                signed(map[string]any{"resolverURL": url, "cacheTTL": "60s", "jwksPath": "/.well-known/authgear-jwks.json"}),
		"authgear-admin":          signed(map[string]any{"resolverURL": url, "cacheTTL": "60s", "allowedRoles": []any{"admin"}}),
		"authgear-step-up": signed(map[string]any{"resolverURL": url, "cacheTTL": "60s", "requireAMR": []any{"mfa"},
			"maxAuthAge": "5m", "loginURL": "/login"}),
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("routes and middlewares %v, want %v", got, want)
	}
}

// TestExampleChecks: the checks tell a right answer from a wrong one, every
// stand-in example and every one around Traefik has one, and an example
// renders as a curl command.
func TestExampleChecks(t *testing.T) {
	aliceHeaders := map[string][]string{"X-Authgear-User-Id": {aliceID}, "X-Authgear-User-Roles": {"admin, editor"},
		"X-Authgear-User-Verified": {"true"}, "X-Authgear-Session-Amr": {"pwd otp"}, "X-Authgear-Session-Authenticated-At": {"1795920688"}}
	aliceClaims := assertion.Claims{Subject: aliceID, Roles: []string{"admin", "editor"}, IsVerified: true, AMR: []string{"pwd", "otp"}, AuthTime: 1795920688}
	verified := func(change func(*assertion.Claims)) *assertion.Result {
		c := aliceClaims
		if change != nil {
			change(&c)
		}
		return &assertion.Result{Status: assertion.StatusVerified, Claims: &c}
	}
	absent := &assertion.Result{Status: assertion.StatusAbsent, Reason: "no X-Authgear-Jwt-Assertion header"}
	rejected := &assertion.Result{Status: assertion.StatusRejected, Reason: "the signature does not verify"}
	alice := &echo.Request{Method: "GET", Headers: aliceHeaders, Assertion: verified(nil)}
	aliceAs := func(a *assertion.Result) *echo.Request {
		return &echo.Request{Method: "GET", Headers: aliceHeaders, Assertion: a}
	}
	none := &echo.Request{Method: "GET", Headers: map[string][]string{"Accept": {"*/*"}}, Assertion: absent}
	noneAs := func(a *assertion.Result) *echo.Request {
		return &echo.Request{Method: "GET", Headers: map[string][]string{"Accept": {"*/*"}}, Assertion: a}
	}
	forgedAdmin := func(a *assertion.Result) *echo.Request {
		return &echo.Request{Method: "GET", Headers: map[string][]string{"X-Authgear-User-Id": {"admin"}}, Assertion: a}
	}
	jwks := func(kid string) []byte {
		b, _ := json.Marshal(map[string]any{"keys": []any{map[string]any{"kty": "EC", "crv": "P-256", "kid": kid, "alg": "ES256", "use": "sig",
			"x": "-5d3bYNQxhpNZ7G3fjjLFrC1uxY0qRLEBVD4EgV7ZI0", "y": "dRPd9LnJqMzRwKvaFWhS6x1MldXYPfwH6wJRgjAu-Ho"}}})
		return b
	}
	jwksHeader := http.Header{"Content-Type": {"application/jwk-set+json"}}
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
		{"identity without an assertion", wantIdentity(aliceID), response{status: 200, backend: aliceAs(absent)}, false},
		{"identity with a rejected assertion", wantIdentity(aliceID), response{status: 200, backend: aliceAs(rejected)}, false},
		{"identity, the backend not verifying", wantIdentity(aliceID), response{status: 200, backend: aliceAs(nil)}, false},
		{"assertion of another user", wantIdentity(aliceID), response{status: 200, backend: aliceAs(verified(func(c *assertion.Claims) { c.Subject = bobID }))}, false},
		{"assertion with other roles", wantIdentity(aliceID), response{status: 200, backend: aliceAs(verified(func(c *assertion.Claims) { c.Roles = []string{"admin"} }))}, false},
		{"assertion with another amr", wantIdentity(aliceID), response{status: 200, backend: aliceAs(verified(func(c *assertion.Claims) { c.AMR = nil }))}, false},
		{"assertion with another auth_time", wantIdentity(aliceID), response{status: 200, backend: aliceAs(verified(func(c *assertion.Claims) { c.AuthTime = 1 }))}, false},
		{"assertion not verified", wantIdentity(aliceID), response{status: 200, backend: aliceAs(verified(func(c *assertion.Claims) { c.IsVerified = false }))}, false},
		{"no identity, a rejected assertion", wantIdentity(""), response{status: 200, backend: noneAs(rejected)}, false},
		{"no identity, the backend not verifying", wantIdentity(""), response{status: 200, backend: noneAs(nil)}, false},
		{"forgery rejected as expected", wantForgeryRejected, response{status: 200, backend: forgedAdmin(rejected)}, true},
		{"forged assertion verified", wantForgeryRejected, response{status: 200, backend: forgedAdmin(verified(nil))}, false},
		{"forgery not checked", wantForgeryRejected, response{status: 200, backend: forgedAdmin(nil)}, false},
		{"forged header stripped", wantForgeryRejected, response{status: 200, backend: noneAs(rejected)}, false},
		{"JWKS as expected", wantJWKS("k1"), response{status: 200, header: jwksHeader, body: jwks("k1")}, true},
		{"JWKS without the key", wantJWKS("k1"), response{status: 200, header: jwksHeader, body: jwks("k2")}, false},
		{"JWKS as plain JSON", wantJWKS("k1"), response{status: 200, header: http.Header{"Content-Type": {"application/json"}}, body: jwks("k1")}, false},
		{"the backend instead of the JWKS", wantJWKS("k1"), response{status: 200, header: jwksHeader, body: jwks("k1"), backend: none}, false},
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
	for _, ex := range append(examples(false, "k1"), aroundTraefik("k1")...) {
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

// TestDemoKey: the demo writes a P-256 key the plugin reads
// (jwtAssertionKeyFile, PKCS#8 PEM, private to its owner) and names it by
// its RFC 7638 thumbprint, as the plugin and its JWKS do.
func TestDemoKey(t *testing.T) {
	var s settings
	kid, err := writeDemoKey(t.TempDir(), &s)
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(s.assertionKeyFile)
	if err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode(data)
	if block == nil || block.Type != "PRIVATE KEY" {
		t.Fatalf("key file %q: want a PKCS#8 PEM block", data)
	}
	parsed, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	key, ok := parsed.(*ecdsa.PrivateKey)
	if !ok || key.Curve.Params().Name != "P-256" {
		t.Fatalf("key %T, want a P-256 ECDSA key", parsed)
	}
	sum, err := (&jose.JSONWebKey{Key: &key.PublicKey}).Thumbprint(crypto.SHA256)
	if want := base64.RawURLEncoding.EncodeToString(sum); err != nil || kid != want {
		t.Errorf("kid %q, want the key's RFC 7638 thumbprint %q (%v)", kid, want, err)
	}
	if fi, err := os.Stat(s.assertionKeyFile); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("key file mode %v (%v), want 0600", fi.Mode(), err)
	}
}

// TestWalkthrough: the printed walkthrough tells how to see the verified
// claims, and sends the examples around Traefik to the backend's own URL.
func TestWalkthrough(t *testing.T) {
	wt := walkthrough{traefikURL: "http://127.0.0.1:8080", backendURL: "http://127.0.0.1:3002", keyFile: "/tmp/d/assertion-key.pem", kid: "k1",
		examples: examples(false, "k1"), aroundTraefik: aroundTraefik("k1")}
	var out bytes.Buffer
	wt.print(&out)
	for _, want := range []string{
		"jwtAssertionKeyFile: /tmp/d/assertion-key.pem, kid k1",
		"from jwksPath, http://127.0.0.1:8080/.well-known/authgear-jwks.json",
		"curl -s -D - -o /dev/null -H 'Cookie: session=alice-session' http://127.0.0.1:8080/ | grep -i x-echo-assertion",
		"curl -i http://127.0.0.1:8080/.well-known/authgear-jwks.json",
		"-H 'X-Authgear-User-Id: admin' -H 'X-Authgear-Jwt-Assertion: " + forgedAssertion("k1") + "' http://127.0.0.1:3002/",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("the walkthrough lacks %q:\n%s", want, out.String())
		}
	}
}
