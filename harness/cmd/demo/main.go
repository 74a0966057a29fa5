// Command demo runs the plugin in a real Traefik in front of an echo backend
// that shows which identity headers arrived, and verifies the signed identity
// (X-Authgear-Jwt-Assertion) as a real backend would, and prints curl
// commands to try:
//
//	go run ./cmd/demo             # what `make demo` runs
//	go run ./cmd/demo -check      # run the commands itself: PASS/FAIL, exit 1 on failure
//
// Traefik comes from tools/traefik-bin.sh (TRAEFIK_BIN to use your own) and
// listens on 127.0.0.1:8080 (-addr or DEMO_ADDR). AUTHGEAR_RESOLVER_URL
// replaces the stand-in by a real Authgear, AUTHGEAR_HOST is its resolverHost.
package main

import (
	"cmp"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/traefik-authgear/traefik-authgear/harness/internal/assertion"
	"github.com/traefik-authgear/traefik-authgear/harness/internal/echo"
	"github.com/traefik-authgear/traefik-authgear/harness/internal/harness"
	"github.com/traefik-authgear/traefik-authgear/harness/internal/stack"
	"github.com/traefik-authgear/traefik-authgear/harness/internal/standin"
)

func main() {
	addr := flag.String("addr", cmp.Or(os.Getenv("DEMO_ADDR"), "127.0.0.1:8080"), "Traefik's listen address (env DEMO_ADDR)")
	checkOnly := flag.Bool("check", false, "run the example requests, print PASS/FAIL, stop; exit status 1 on failure")
	verbose := flag.Bool("v", false, "show Traefik's log output")
	flag.Parse()

	s := settings{
		addr:         *addr,
		resolverURL:  os.Getenv("AUTHGEAR_RESOLVER_URL"),
		resolverHost: os.Getenv("AUTHGEAR_HOST"),
		traefikOut:   io.Discard,
	}
	if *verbose || !*checkOnly {
		s.traefikOut = os.Stderr // the plugin logs resolver failures there
	}
	if err := run(s, *checkOnly); err != nil {
		fmt.Fprintln(os.Stderr, "demo:", err)
		os.Exit(1)
	}
}

// run starts the demo and checks the examples, or prints them and waits.
func run(s settings, checkOnly bool) error {
	ctx, stopSignals := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stopSignals()

	if err := checkFree(s.addr); err != nil {
		return err
	}
	fmt.Println("Getting Traefik v3.6.12 (the first time, it is built from source: about 15 minutes; then it is cached)...")
	bin, err := harness.TraefikBinary()
	if err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "authgear-demo-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	kid, err := writeDemoKey(dir, &s)
	if err != nil {
		return err
	}
	real := s.resolverURL != ""
	if real {
		fmt.Printf("Starting the echo backend and Traefik with the plugin, using Authgear at %s...\n", s.resolverURL)
	} else {
		fmt.Println("Starting the stand-in Authgear resolver (users from testdata/users.json, and dave and erin, who signed in with MFA a minute and two hours ago), the echo backend and Traefik with the plugin...")
	}
	o := options(s, bin)
	if !real {
		users, err := demoUsers()
		if err != nil {
			return err
		}
		o.Users = &users
	}
	st, err := stack.Start(ctx, o)
	if err != nil {
		return err
	}
	defer st.Stop()

	wt := walkthrough{
		traefikURL: "http://" + s.addr, backendURL: st.Backend.URL, real: real,
		keyFile: s.assertionKeyFile, kid: kid,
		examples: examples(real, kid), aroundTraefik: aroundTraefik(kid),
	}
	if checkOnly {
		if !wt.check(os.Stdout) {
			return errors.New("some checks failed")
		}
		fmt.Println("all checks passed")
		return nil
	}
	wt.print(os.Stdout)
	select {
	case <-ctx.Done():
	case <-st.Traefik.Exited():
		return errors.New("traefik exited unexpectedly")
	}
	fmt.Println("\nStopping...")
	return nil
}

// walkthrough is what the demo shows a newcomer: the examples through
// Traefik, and those that go around it, straight to the backend.
type walkthrough struct {
	traefikURL string // Traefik's entrypoint
	backendURL string // the echo backend's own URL, behind Traefik
	real       bool   // a real Authgear: some examples need your credentials
	keyFile    string // the demo key's file (jwtAssertionKeyFile)
	kid        string // the demo key's kid

	examples, aroundTraefik []example
}

// check runs every example where it goes; it reports whether all passed.
func (wt walkthrough) check(w io.Writer) bool {
	throughTraefik := check(w, wt.examples, wt.traefikURL)
	around := check(w, wt.aroundTraefik, wt.backendURL)
	return throughTraefik && around
}

// print prints the curl commands and what each should show.
func (wt walkthrough) print(w io.Writer) {
	fmt.Fprintf(w, "\nTraefik with the Authgear plugin is listening on %s.\n", wt.traefikURL)
	fmt.Fprintln(w, "The backend answers with a JSON echo of the request it received (see \"headers\"),")
	fmt.Fprintln(w, "and sums up the X-Authgear-* headers it got in the response header X-Echo-Authgear.")
	fmt.Fprintln(w, "/admin also requires the admin role (allowedRoles: [admin]).")
	fmt.Fprintln(w, "/settings requires a sign-in with MFA at most 5 minutes ago (requireAMR: [mfa], maxAuthAge: 5m):")
	fmt.Fprintln(w, "any other session gets 401 with a step-up challenge (RFC 9470: error=\"insufficient_user_authentication\"),")
	fmt.Fprintln(w, "as an application/problem+json document if the client accepts JSON, and a browser is redirected")
	fmt.Fprintln(w, "to loginURL (/login, your app's login page) with what to ask Authgear for (prompt=login, amr_values, max_age).")
	fmt.Fprintln(w)
	wt.printSignedIdentity(w)
	if wt.real {
		fmt.Fprintln(w, "Replace the <...> placeholders with your own credentials from your Authgear app.")
	}
	fmt.Fprintln(w)
	for _, ex := range wt.examples {
		fmt.Fprintf(w, "# %s: expect %s\n%s\n\n", ex.title, ex.expect, ex.curl(wt.traefikURL))
	}
	fmt.Fprintf(w, "A request can also go around Traefik, straight to the backend (here %s; in production,\n", wt.backendURL)
	fmt.Fprintln(w, "anyone who reaches its network): then the plain X-Authgear-* headers arrive as the client wrote them,")
	fmt.Fprintln(w, "but no client can forge an assertion that verifies.")
	fmt.Fprintln(w)
	for _, ex := range wt.aroundTraefik {
		fmt.Fprintf(w, "# %s: expect %s\n%s\n\n", ex.title, ex.expect, ex.curl(wt.backendURL))
	}
	fmt.Fprintln(w, "Press Ctrl-C to stop.")
}

// printSignedIdentity explains what the signed identity gives the backend
// and how the demo's backend checks it.
func (wt walkthrough) printSignedIdentity(w io.Writer) {
	session := "alice-session"
	if wt.real {
		session = "<your session cookie>"
	}
	fmt.Fprintln(w, "Signed identity: every request with a valid session that a policy lets through also reaches")
	fmt.Fprintln(w, "the backend with X-Authgear-Jwt-Assertion, an ES256 JWT of the identity (jwtAssertion: true),")
	fmt.Fprintf(w, "signed with a demo key made for this run (jwtAssertionKeyFile: %s, kid %s).\n", wt.keyFile, wt.kid)
	fmt.Fprintln(w, "The backend verifies it as yours should (docs/signed-identity.md), with github.com/go-jose/go-jose/v4:")
	fmt.Fprintf(w, "it fetches the public keys through Traefik from jwksPath, %s%s,\n", wt.traefikURL, jwksPath)
	fmt.Fprintf(w, "caches them, checks the signature with the key of the token's kid (ES256 only), iss %q,\n", demoIssuer)
	fmt.Fprintf(w, "aud %q, exp and nbf, and answers what it found in the response header X-Echo-Assertion and the JSON's\n", demoAudience)
	fmt.Fprintln(w, "\"verified_assertion\": the verified claims (sub, roles, is_verified, amr, auth_time, exp), or why")
	fmt.Fprintln(w, "there is none. See it:")
	fmt.Fprintf(w, "  curl -s -D - -o /dev/null -H 'Cookie: session=%s' %s/ | grep -i x-echo-assertion\n", session, wt.traefikURL)
}

// checkFree fails early, with advice, when addr is taken.
func checkFree(addr string) error {
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("cannot listen on %s (%v): set DEMO_ADDR (or -addr) to a free address, e.g. DEMO_ADDR=127.0.0.1:8081", addr, err)
	}
	return l.Close()
}

// settings say what the demo runs against.
type settings struct {
	addr         string // Traefik's entrypoint
	resolverURL  string // a real Authgear's resolve endpoint; empty: the stand-in
	resolverHost string // resolverHost for a real Authgear; may be empty
	traefikOut   io.Writer
	// assertionKeyFile is the middlewares' jwtAssertionKeyFile (writeDemoKey).
	assertionKeyFile string
}

// The signed identity's settings: the middlewares' jwtAssertionIssuer and
// jwtAssertionAudience, which the backend expects, and the jwksPath it
// fetches the keys from.
const (
	demoIssuer   = "traefik-authgear-demo"
	demoAudience = "demo-backend"
	jwksPath     = "/.well-known/authgear-jwks.json"
)

// writeDemoKey writes a new P-256 key as PKCS#8 PEM into dir, as an
// operator would with openssl, sets it as s's jwtAssertionKeyFile, and
// returns its kid (the RFC 7638 thumbprint the plugin names it by).
func writeDemoKey(dir string, s *settings) (string, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return "", err
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return "", err
	}
	path := filepath.Join(dir, "assertion-key.pem")
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600); err != nil {
		return "", err
	}
	sum, err := (&jose.JSONWebKey{Key: &key.PublicKey}).Thumbprint(crypto.SHA256)
	if err != nil {
		return "", err
	}
	s.assertionKeyFile = path
	return base64.RawURLEncoding.EncodeToString(sum), nil
}

// options are the demo's stack: / through "authgear", /admin through
// "authgear-admin", which requires the admin role, and /settings through
// "authgear-step-up", which requires a recent MFA sign-in. The three share
// one cache: they are over the same Authgear app. All three sign the
// identity with the demo key for the one backend behind them, "authgear"
// publishes the keys at jwksPath, and the backend verifies the assertions
// with the keys it fetches from there through Traefik.
func options(s settings, traefikBin string) stack.Options {
	signed := func(opts map[string]any) map[string]any {
		opts["jwtAssertion"] = true
		opts["jwtAssertionKeyFile"] = s.assertionKeyFile
		opts["jwtAssertionIssuer"] = demoIssuer
		opts["jwtAssertionAudience"] = demoAudience
		return opts
	}
	return stack.Options{
		Middlewares: []stack.Middleware{
			{Name: "authgear", Options: signed(map[string]any{"cacheTTL": "60s", "jwksPath": jwksPath})},
			{Name: "authgear-admin", Options: signed(map[string]any{"cacheTTL": "60s", "allowedRoles": []string{"admin"}})},
			{Name: "authgear-step-up", Options: signed(map[string]any{
				"cacheTTL": "60s", "requireAMR": []string{"mfa"}, "maxAuthAge": "5m", "loginURL": loginPath,
			})},
		},
		Echo: echo.Options{Assertion: assertion.NewVerifier(assertion.Config{
			JWKSURL: "http://" + s.addr + jwksPath, Issuer: demoIssuer, Audience: demoAudience,
		})},
		Routes: []stack.Route{
			{Prefix: "/", Middlewares: []string{"authgear"}},
			{Prefix: "/admin", Middlewares: []string{"authgear-admin"}},
			{Prefix: "/settings", Middlewares: []string{"authgear-step-up"}},
		},
		ResolverURL:  s.resolverURL,
		ResolverHost: s.resolverHost,
		Traefik:      harness.Options{Binary: traefikBin, EntryAddr: s.addr, Output: s.traefikOut},
		Wait:         30 * time.Second,
	}
}

// loginPath is the step-up route's loginURL: in the demo the echo backend
// answers it, in an app it is the page that starts Authgear's sign-in.
const loginPath = "/login"

// Users of testdata/users.json that the examples use, and the two the demo
// adds (demoUsers).
const (
	aliceID = "7b0f6c42-1a6e-4d0e-9c53-2c1f0f6f5b1e"
	bobID   = "05442258-c3ab-4306-ac99-b347da1fc855"
	daveID  = "9a4c2e71-5d3b-4f8a-b6e0-1c7d9f2a3b45"
	erinID  = "e8b1f3a6-7c2d-4e95-a0b4-3d6f8e1c2a57"
)

// demoUsers are testdata/users.json's users and two who signed in with MFA
// (amr "mfa otp pwd"): dave a minute ago, erin two hours ago, measured from
// each answer of the stand-in, so that they stay so however long the demo
// runs. The file's users signed in at fixed times, long before maxAuthAge.
func demoUsers() (standin.Config, error) {
	cfg, err := stack.Users()
	if err != nil {
		return cfg, err
	}
	for _, u := range []struct {
		id, name string
		ago      time.Duration
	}{{daveID, "dave", time.Minute}, {erinID, "erin", 2 * time.Hour}} {
		cfg.Users = append(cfg.Users, standin.User{
			ID: u.id, Email: u.name + "@example.test", Sessions: []string{u.name + "-session"}, BearerTokens: []string{u.name + "-token"},
			Verified: true, AMR: "mfa otp pwd", AuthenticatedAgo: standin.Ago(u.ago),
		})
	}
	return cfg, cfg.Validate()
}

// example is one request the demo suggests (headers: "Name: value" each),
// what it should show, and its check (nil: it needs your credentials).
type example struct {
	title, path string
	headers     []string
	expect      string
	check       func(got response) error
}

// response is what an example's request got.
type response struct {
	status  int
	header  http.Header
	body    []byte
	backend *echo.Request // the echo backend's JSON, if it answered
}

// The headers of the examples.
const (
	acceptJSON = "Accept: application/json"
	acceptHTML = "Accept: text/html"
)

// forgedAssertion is a client's attempt at a signed identity: an
// X-Authgear-Jwt-Assertion under the demo key's kid (public, in the JWKS)
// that claims sub "admin", with a made-up signature.
func forgedAssertion(kid string) string {
	return b64(`{"alg":"ES256","kid":"`+kid+`"}`) + "." + b64(`{"sub":"admin"}`) + "." + b64("forged")
}

// b64 is base64url without padding, as JWS uses.
func b64(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }

// examples returns the demo's requests, for the stand-in or a real Authgear;
// kid is the demo key's.
func examples(real bool, kid string) []example {
	anonymous := example{"anonymous", "/", nil,
		"200; the backend gets no X-Authgear-* header and no assertion: X-Echo-Assertion: absent: ...", wantIdentity("")}
	forged := example{"a forged identity header", "/", []string{"X-Authgear-User-Id: admin"},
		"200; the forged header is stripped: the backend gets no X-Authgear-* header", wantIdentity("")}
	keys := example{"the JWKS the backend fetches (jwksPath)", jwksPath, nil,
		"200, Content-Type: application/jwk-set+json: the demo key's public half, kid " + kid, wantJWKS(kid)}
	noSession := example{"/admin without a session", "/admin", nil,
		`401 Unauthorized, WWW-Authenticate: Bearer realm="<the Authgear app's host>"`, wantStatus(http.StatusUnauthorized)}
	signedOutBrowser := example{"/settings in a browser, signed out", "/settings", []string{acceptHTML},
		"302 Found, Location: " + loginPath + "?redirect_uri=<this URL>", wantRedirect("")}
	if real {
		return []example{anonymous, keys,
			{"your session cookie", "/", []string{"Cookie: session=<your session cookie>"},
				"200; the backend gets X-Authgear-Session-Valid: true and your X-Authgear-User-Id (copy the cookie from your browser)," +
					" and verifies the assertion: X-Echo-Assertion: verified; sub=<your user id>; roles=...", nil},
			{"your access token", "/", []string{"Authorization: Bearer <your access token>"},
				"200; the backend gets your X-Authgear-User-Id and X-Echo-Assertion: verified; sub=<your user id>; ...", nil},
			forged, noSession,
			{"/admin as you", "/admin", []string{"Authorization: Bearer <your access token>"},
				"200 if your user has the admin role, else 403", nil},
			{"/settings as you", "/settings", []string{"Authorization: Bearer <your access token>"},
				"200 if you signed in with MFA (amr mfa) in the last 5 minutes, else 401 with a step-up challenge in WWW-Authenticate", nil},
			signedOutBrowser,
		}
	}
	const stepUp = `401 Unauthorized, WWW-Authenticate: Bearer realm="` + stack.PublicHost + `", error="insufficient_user_authentication", error_description="..."`
	return []example{anonymous, keys,
		{"alice by session cookie", "/", []string{"Cookie: session=alice-session"},
			"200; the backend gets X-Authgear-User-Id: " + aliceID + ", X-Authgear-User-Roles: admin,editor, ...," +
				" and the assertion, which it verifies: X-Echo-Assertion: verified; sub=" + aliceID +
				"; roles=admin,editor; is_verified=true; amr=pwd,otp; auth_time=...; exp=...", wantIdentity(aliceID)},
		{"bob by bearer token", "/", []string{"Authorization: Bearer bob-token"},
			"200; the backend gets X-Authgear-User-Id: " + bobID + ", X-Authgear-User-Roles: editor, ..., and X-Echo-Assertion: verified; sub=" + bobID + "; ...", wantIdentity(bobID)},
		forged,
		{"a forged assertion, with bob's token", "/", []string{"Authorization: Bearer bob-token", assertion.Header + ": " + forgedAssertion(kid)},
			"200; the forged assertion is stripped: the backend verifies bob's own, X-Echo-Assertion: verified; sub=" + bobID + "; roles=editor; ...", wantIdentity(bobID)},
		{"/admin as bob (role editor)", "/admin", []string{"Authorization: Bearer bob-token"}, "403 Forbidden", wantStatus(http.StatusForbidden)},
		{"/admin as alice (role admin)", "/admin", []string{"Cookie: session=alice-session"},
			"200; the backend gets alice's identity", wantIdentity(aliceID)},
		noSession,
		{"/settings as alice (password + OTP, no MFA)", "/settings", []string{"Cookie: session=alice-session"},
			stepUp + ": sign in again with MFA", wantStepUp("")},
		{"/settings as alice, in a browser", "/settings", []string{"Cookie: session=alice-session", acceptHTML},
			"302 Found, Location: " + loginPath + "?redirect_uri=<this URL>&prompt=login&amr_values=mfa", wantRedirect("&prompt=login&amr_values=mfa")},
		{"/settings as erin (MFA 2 hours ago), JSON", "/settings", []string{"Authorization: Bearer erin-token", acceptJSON},
			stepUp + ", max_age=300, and an application/problem+json body: \"Recent sign-in required\"", wantProblem("Recent sign-in required", ", max_age=300")},
		{"/settings as dave (MFA a minute ago)", "/settings", []string{"Authorization: Bearer dave-token"},
			"200; the backend gets X-Authgear-User-Id: " + daveID + ", X-Authgear-Session-Amr: mfa otp pwd, ..., and X-Echo-Assertion: verified; sub=" + daveID + "; ...; amr=mfa,otp,pwd; ...", wantIdentity(daveID)},
		signedOutBrowser,
	}
}

// aroundTraefik returns the requests that go straight to the backend, as
// anyone on its network could send them: forged headers arrive, a forged
// assertion does not verify.
func aroundTraefik(kid string) []example {
	return []example{
		{"around Traefik: forged headers and assertion", "/", []string{"X-Authgear-User-Id: admin", assertion.Header + ": " + forgedAssertion(kid)},
			"200; the backend gets X-Authgear-User-Id: admin as sent, but rejects the assertion:" +
				" X-Echo-Assertion: rejected: the signature does not verify with the JWKS key ...", wantForgeryRejected},
	}
}

// curl renders an example as a command line to paste.
func (ex example) curl(baseURL string) string {
	cmd := "curl -i"
	for _, h := range ex.headers {
		cmd += " -H '" + h + "'"
	}
	return cmd + " " + baseURL + ex.path
}

// run sends the example's request and checks the answer.
func (ex example) run(client *http.Client, baseURL string) error {
	req, err := http.NewRequest(http.MethodGet, baseURL+ex.path, nil)
	if err != nil {
		return err
	}
	for _, h := range ex.headers {
		if name, value, ok := strings.Cut(h, ": "); ok {
			req.Header.Set(name, value)
		}
	}
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	got := response{status: resp.StatusCode, header: resp.Header}
	if got.body, err = io.ReadAll(resp.Body); err != nil {
		return err
	}
	if r := (echo.Request{}); json.Unmarshal(got.body, &r) == nil && r.Method != "" {
		got.backend = &r
	}
	if err := ex.check(got); err != nil {
		return fmt.Errorf("%w (got %s %q)", err, resp.Status, got.body[:min(len(got.body), 200)])
	}
	return nil
}

// wantIdentity expects the backend with userID's identity ("" none), in
// the headers and in an assertion it verified.
func wantIdentity(userID string) func(response) error {
	return func(got response) error {
		if got.status != http.StatusOK || got.backend == nil {
			return fmt.Errorf("want 200 from the backend")
		}
		h := http.Header(got.backend.Headers)
		if summary := echo.AuthgearSummary(h); userID == "" && summary != "" {
			return fmt.Errorf("the backend got identity headers %q, want none", summary)
		}
		if id := h.Get("X-Authgear-User-Id"); id != userID {
			return fmt.Errorf("the backend got X-Authgear-User-Id %q, want %q", id, userID)
		}
		return wantAssertion(userID != "", h, got.backend.Assertion)
	}
}

// wantAssertion expects the backend's verdict on the assertion: verified,
// with the identity of the headers h, when signed; else absent.
func wantAssertion(signed bool, h http.Header, a *assertion.Result) error {
	switch {
	case a == nil:
		return errors.New("the backend did not check the assertion")
	case !signed && a.Status != assertion.StatusAbsent:
		return fmt.Errorf("the backend's assertion: %s; want none", a.Summary())
	case !signed:
		return nil
	case a.Status != assertion.StatusVerified:
		return fmt.Errorf("the backend's assertion: %s; want verified", a.Summary())
	}
	if claims, headers := claimsIdentity(a.Claims), headersIdentity(h); claims != headers {
		return fmt.Errorf("the verified claims say %s, the headers %s: want the same identity", claims, headers)
	}
	return nil
}

// claimsIdentity renders verified claims as headersIdentity does headers.
func claimsIdentity(c *assertion.Claims) string {
	authTime := ""
	if c.AuthTime != 0 {
		authTime = strconv.FormatInt(c.AuthTime, 10)
	}
	return fmt.Sprintf("sub=%s roles=%s is_verified=%t amr=%s auth_time=%s",
		c.Subject, strings.Join(c.Roles, ","), c.IsVerified, strings.Join(c.AMR, " "), authTime)
}

// headersIdentity renders the identity headers the plugin signs, as it
// reads them (roles split at commas, amr at spaces).
func headersIdentity(h http.Header) string {
	var roles []string
	for _, r := range strings.Split(h.Get("X-Authgear-User-Roles"), ",") {
		if r = strings.TrimSpace(r); r != "" {
			roles = append(roles, r)
		}
	}
	return fmt.Sprintf("sub=%s roles=%s is_verified=%t amr=%s auth_time=%s",
		h.Get("X-Authgear-User-Id"), strings.Join(roles, ","), h.Get("X-Authgear-User-Verified") == "true",
		strings.Join(strings.Fields(h.Get("X-Authgear-Session-Amr")), " "), strings.TrimSpace(h.Get("X-Authgear-Session-Authenticated-At")))
}

// wantForgeryRejected expects the backend reached with the forged
// X-Authgear-User-Id (no middleware stripped it) and the forged assertion
// rejected.
func wantForgeryRejected(got response) error {
	if got.status != http.StatusOK || got.backend == nil {
		return errors.New("want 200 from the backend")
	}
	if id := http.Header(got.backend.Headers).Get("X-Authgear-User-Id"); id != "admin" {
		return fmt.Errorf("the backend got X-Authgear-User-Id %q, want the forged %q", id, "admin")
	}
	if a := got.backend.Assertion; a == nil || a.Status != assertion.StatusRejected {
		return fmt.Errorf("the backend's assertion: %+v; want rejected", a)
	}
	return nil
}

// wantJWKS expects the middleware's JWKS with the key kid: what the
// backend fetches.
func wantJWKS(kid string) func(response) error {
	return func(got response) error {
		if got.status != http.StatusOK || got.backend != nil {
			return errors.New("want 200 from the middleware")
		}
		var set jose.JSONWebKeySet
		if ct := got.header.Get("Content-Type"); ct != "application/jwk-set+json" || json.Unmarshal(got.body, &set) != nil {
			return fmt.Errorf("Content-Type %q, want a JWKS as application/jwk-set+json", ct)
		}
		if found := set.Key(kid); len(found) != 1 || !found[0].IsPublic() || found[0].Algorithm != string(jose.ES256) {
			return fmt.Errorf("the JWKS has %d public ES256 keys with kid %q, want one", len(found), kid)
		}
		return nil
	}
}

// wantStatus expects the middleware to answer status.
func wantStatus(status int) func(response) error {
	return func(got response) error {
		if got.status != status || got.backend != nil {
			return fmt.Errorf("want %d from the middleware", status)
		}
		return nil
	}
}

// wantStepUp expects the middleware's 401 with RFC 9470's step-up
// challenge, ending in suffix (", max_age=300" for maxAuthAge).
func wantStepUp(suffix string) func(response) error {
	return func(got response) error {
		if err := wantStatus(http.StatusUnauthorized)(got); err != nil {
			return err
		}
		c := got.header.Get("WWW-Authenticate")
		if !strings.HasPrefix(c, "Bearer realm=") || !strings.Contains(c, `, error="insufficient_user_authentication", error_description="`) || !strings.HasSuffix(c, `"`+suffix) {
			return fmt.Errorf("WWW-Authenticate %q, want a Bearer insufficient_user_authentication challenge ending in %q", c, `"`+suffix)
		}
		return nil
	}
}

// wantProblem expects wantStepUp(suffix)'s refusal as an RFC 9457 problem
// document with title.
func wantProblem(title, suffix string) func(response) error {
	return func(got response) error {
		if err := wantStepUp(suffix)(got); err != nil {
			return err
		}
		var p struct {
			Title  string `json:"title"`
			Status int    `json:"status"`
		}
		if ct := got.header.Get("Content-Type"); ct != "application/problem+json" || json.Unmarshal(got.body, &p) != nil || p.Title != title || p.Status != got.status {
			return fmt.Errorf("Content-Type %q, want an application/problem+json document titled %q", ct, title)
		}
		return nil
	}
}

// wantRedirect expects the middleware's redirect to loginPath with the
// request's URL as redirect_uri, then stepUp ("" for a plain sign-in).
func wantRedirect(stepUp string) func(response) error {
	return func(got response) error {
		loc := got.header.Get("Location")
		target, params, _ := strings.Cut(loc, "?redirect_uri=")
		uri, rest, _ := strings.Cut(params, "&")
		if rest != "" {
			rest = "&" + rest
		}
		if got.status != http.StatusFound || target != loginPath || !strings.HasPrefix(uri, "http%3A%2F%2F") || rest != stepUp {
			return fmt.Errorf("the Location %q, want %s?redirect_uri=<this URL>%s", loc, loginPath, stepUp)
		}
		return nil
	}
}

// check runs the examples, prints PASS, FAIL or SKIP, and reports success.
// Redirects are not followed: they are what an example shows.
func check(w io.Writer, exs []example, baseURL string) bool {
	client := &http.Client{
		Timeout:       10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	ok := true
	for _, ex := range exs {
		if ex.check == nil {
			fmt.Fprintf(w, "SKIP %-44s needs your own credentials\n", ex.title)
			continue
		}
		if err := ex.run(client, baseURL); err != nil {
			ok = false
			fmt.Fprintf(w, "FAIL %-44s %s\n     %v\n", ex.title, ex.curl(baseURL), err)
			continue
		}
		fmt.Fprintf(w, "PASS %-44s %s\n", ex.title, ex.curl(baseURL))
	}
	return ok
}
