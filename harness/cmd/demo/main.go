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
		fmt.Println("Starting the stand-in Authgear resolver (users from testdata/users.json), the echo backend and Traefik with the plugin...")
	}
	st, err := stack.Start(ctx, options(s, bin))
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
// "authgear-admin", which requires the admin role.
func options(s settings, traefikBin string) stack.Options {
	return stack.Options{
		Middlewares: []stack.Middleware{
			{Name: "authgear", Options: map[string]any{"cacheTTL": "60s"}},
			{Name: "authgear-admin", Options: map[string]any{"cacheTTL": "60s", "allowedRoles": []string{"admin"}}},
		},
		Routes: []stack.Route{
			{Prefix: "/", Middlewares: []string{"authgear"}},
			{Prefix: "/admin", Middlewares: []string{"authgear-admin"}},
		},
		ResolverURL:  s.resolverURL,
		ResolverHost: s.resolverHost,
		Traefik:      harness.Options{Binary: traefikBin, EntryAddr: s.addr, Output: s.traefikOut},
		Wait:         30 * time.Second,
	}
}

// Users of testdata/users.json that the examples use.
const (
	aliceID = "7b0f6c42-1a6e-4d0e-9c53-2c1f0f6f5b1e"
	bobID   = "05442258-c3ab-4306-ac99-b347da1fc855"
)

// example is one request the demo suggests (header: "Name: value" or ""),
// what it should show, and its check (nil: it needs your credentials).
type example struct {
	title, path, header, expect string
	check                       func(status int, backend *echo.Request) error
}

// examples returns the demo's requests, for the stand-in or a real Authgear.
func examples(real bool) []example {
	anonymous := example{"anonymous", "/", "", "200; the backend gets no X-Authgear-* header", wantIdentity("")}
	forged := example{"a forged identity header", "/", "X-Authgear-User-Id: admin",
		"200; the forged header is stripped: the backend gets no X-Authgear-* header", wantIdentity("")}
	noSession := example{"/admin without a session", "/admin", "", "401 Unauthorized", wantStatus(http.StatusUnauthorized)}
	if real {
		return []example{anonymous,
			{"your session cookie", "/", "Cookie: session=<your session cookie>",
				"200; the backend gets X-Authgear-Session-Valid: true and your X-Authgear-User-Id (copy the cookie from your browser)", nil},
			{"your access token", "/", "Authorization: Bearer <your access token>",
				"200; the backend gets your X-Authgear-User-Id", nil},
			forged, noSession,
			{"/admin as you", "/admin", "Authorization: Bearer <your access token>",
				"200 if your user has the admin role, else 403", nil},
		}
	}
	return []example{anonymous,
		{"alice by session cookie", "/", "Cookie: session=alice-session",
			"200; the backend gets X-Authgear-User-Id: " + aliceID + ", X-Authgear-User-Roles: admin,editor, ...", wantIdentity(aliceID)},
		{"bob by bearer token", "/", "Authorization: Bearer bob-token",
			"200; the backend gets X-Authgear-User-Id: " + bobID + ", X-Authgear-User-Roles: editor, ...", wantIdentity(bobID)},
		forged,
		{"/admin as bob (role editor)", "/admin", "Authorization: Bearer bob-token", "403 Forbidden", wantStatus(http.StatusForbidden)},
		{"/admin as alice (role admin)", "/admin", "Cookie: session=alice-session",
			"200; the backend gets alice's identity", wantIdentity(aliceID)},
		noSession,
	}
}

// curl renders an example as a command line to paste.
func (ex example) curl(baseURL string) string {
	cmd := "curl -i"
	if ex.header != "" {
		cmd += " -H '" + ex.header + "'"
	}
	return cmd + " " + baseURL + ex.path
}

// run sends the example's request and checks the answer.
func (ex example) run(client *http.Client, baseURL string) error {
	req, err := http.NewRequest(http.MethodGet, baseURL+ex.path, nil)
	if err != nil {
		return err
	}
	if name, value, ok := strings.Cut(ex.header, ": "); ok {
		req.Header.Set(name, value)
	}
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	var backend *echo.Request // the echo backend's JSON, if it answered
	if r := (echo.Request{}); json.Unmarshal(body, &r) == nil && r.Method != "" {
		backend = &r
	}
	if err := ex.check(resp.StatusCode, backend); err != nil {
		return fmt.Errorf("%w (got %s %q)", err, resp.Status, body[:min(len(body), 200)])
	}
	return nil
}

// wantIdentity expects the backend with userID's identity ("" none).
func wantIdentity(userID string) func(int, *echo.Request) error {
	return func(status int, backend *echo.Request) error {
		if status != http.StatusOK || backend == nil {
			return fmt.Errorf("want 200 from the backend")
		}
		h := http.Header(backend.Headers)
		if summary := echo.AuthgearSummary(h); userID == "" && summary != "" {
			return fmt.Errorf("the backend got identity headers %q, want none", summary)
		}
		if got := h.Get("X-Authgear-User-Id"); got != userID {
			return fmt.Errorf("the backend got X-Authgear-User-Id %q, want %q", got, userID)
		}
		return nil
	}
}

// wantStatus expects the middleware to answer status.
func wantStatus(status int) func(int, *echo.Request) error {
	return func(got int, backend *echo.Request) error {
		if got != status || backend != nil {
			return fmt.Errorf("want %d from the middleware", status)
		}
		return nil
	}
}

// check runs the examples, prints PASS, FAIL or SKIP, and reports success.
func check(w io.Writer, exs []example, baseURL string) bool {
	client := &http.Client{Timeout: 10 * time.Second}
	ok := true
	for _, ex := range exs {
		if ex.check == nil {
			fmt.Fprintf(w, "SKIP %-32s needs your own credentials\n", ex.title)
			continue
		}
		if err := ex.run(client, baseURL); err != nil {
			ok = false
			fmt.Fprintf(w, "FAIL %-32s %s\n     %v\n", ex.title, ex.curl(baseURL), err)
			continue
		}
		fmt.Fprintf(w, "PASS %-32s %s\n", ex.title, ex.curl(baseURL))
	}
	return ok
}
