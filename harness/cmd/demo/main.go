// Command demo runs the plugin in a real Traefik in front of an echo backend
// that shows which identity headers arrived, and prints curl commands to try:
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
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

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

	baseURL := "http://" + s.addr
	exs := examples(real)
	if checkOnly {
		if !check(os.Stdout, exs, baseURL) {
			return errors.New("some checks failed")
		}
		fmt.Println("all checks passed")
		return nil
	}
	printExamples(os.Stdout, exs, baseURL, real)
	select {
	case <-ctx.Done():
	case <-st.Traefik.Exited():
		return errors.New("traefik exited unexpectedly")
	}
	fmt.Println("\nStopping...")
	return nil
}

// printExamples prints the curl commands and what each should show.
func printExamples(w io.Writer, exs []example, baseURL string, real bool) {
	fmt.Fprintf(w, "\nTraefik with the Authgear plugin is listening on %s.\n", baseURL)
	fmt.Fprintln(w, "The backend answers with a JSON echo of the request it received (see \"headers\"),")
	fmt.Fprintln(w, "and sums up the X-Authgear-* headers it got in the response header X-Echo-Authgear.")
	fmt.Fprintln(w, "/admin also requires the admin role (allowedRoles: [admin]).")
	fmt.Fprintln(w, "/settings requires a sign-in with MFA at most 5 minutes ago (requireAMR: [mfa], maxAuthAge: 5m):")
	fmt.Fprintln(w, "any other session gets 401 with a step-up challenge (RFC 9470: error=\"insufficient_user_authentication\"),")
	fmt.Fprintln(w, "as an application/problem+json document if the client accepts JSON, and a browser is redirected")
	fmt.Fprintln(w, "to loginURL (/login, your app's login page) with what to ask Authgear for (prompt=login, amr_values, max_age).")
	if real {
		fmt.Fprintln(w, "Replace the <...> placeholders with your own credentials from your Authgear app.")
	}
	fmt.Fprintln(w)
	for _, ex := range exs {
		fmt.Fprintf(w, "# %s: expect %s\n%s\n\n", ex.title, ex.expect, ex.curl(baseURL))
	}
	fmt.Fprintln(w, "Press Ctrl-C to stop.")
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
}

// options are the demo's stack: / through "authgear", /admin through
// "authgear-admin", which requires the admin role, and /settings through
// "authgear-step-up", which requires a recent MFA sign-in. The three share
// one cache: they are over the same Authgear app.
func options(s settings, traefikBin string) stack.Options {
	return stack.Options{
		Middlewares: []stack.Middleware{
			{Name: "authgear", Options: map[string]any{"cacheTTL": "60s"}},
			{Name: "authgear-admin", Options: map[string]any{"cacheTTL": "60s", "allowedRoles": []string{"admin"}}},
			{Name: "authgear-step-up", Options: map[string]any{
				"cacheTTL": "60s", "requireAMR": []string{"mfa"}, "maxAuthAge": "5m", "loginURL": loginPath,
			}},
		},
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

// examples returns the demo's requests, for the stand-in or a real Authgear.
func examples(real bool) []example {
	anonymous := example{"anonymous", "/", nil, "200; the backend gets no X-Authgear-* header", wantIdentity("")}
	forged := example{"a forged identity header", "/", []string{"X-Authgear-User-Id: admin"},
		"200; the forged header is stripped: the backend gets no X-Authgear-* header", wantIdentity("")}
	noSession := example{"/admin without a session", "/admin", nil,
		`401 Unauthorized, WWW-Authenticate: Bearer realm="<the Authgear app's host>"`, wantStatus(http.StatusUnauthorized)}
	signedOutBrowser := example{"/settings in a browser, signed out", "/settings", []string{acceptHTML},
		"302 Found, Location: " + loginPath + "?redirect_uri=<this URL>", wantRedirect("")}
	if real {
		return []example{anonymous,
			{"your session cookie", "/", []string{"Cookie: session=<your session cookie>"},
				"200; the backend gets X-Authgear-Session-Valid: true and your X-Authgear-User-Id (copy the cookie from your browser)", nil},
			{"your access token", "/", []string{"Authorization: Bearer <your access token>"},
				"200; the backend gets your X-Authgear-User-Id", nil},
			forged, noSession,
			{"/admin as you", "/admin", []string{"Authorization: Bearer <your access token>"},
				"200 if your user has the admin role, else 403", nil},
			{"/settings as you", "/settings", []string{"Authorization: Bearer <your access token>"},
				"200 if you signed in with MFA (amr mfa) in the last 5 minutes, else 401 with a step-up challenge in WWW-Authenticate", nil},
			signedOutBrowser,
		}
	}
	const stepUp = `401 Unauthorized, WWW-Authenticate: Bearer realm="` + stack.PublicHost + `", error="insufficient_user_authentication", error_description="..."`
	return []example{anonymous,
		{"alice by session cookie", "/", []string{"Cookie: session=alice-session"},
			"200; the backend gets X-Authgear-User-Id: " + aliceID + ", X-Authgear-User-Roles: admin,editor, ...", wantIdentity(aliceID)},
		{"bob by bearer token", "/", []string{"Authorization: Bearer bob-token"},
			"200; the backend gets X-Authgear-User-Id: " + bobID + ", X-Authgear-User-Roles: editor, ...", wantIdentity(bobID)},
		forged,
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
			"200; the backend gets X-Authgear-User-Id: " + daveID + ", X-Authgear-Session-Amr: mfa otp pwd, ...", wantIdentity(daveID)},
		signedOutBrowser,
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

// wantIdentity expects the backend with userID's identity ("" none).
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
