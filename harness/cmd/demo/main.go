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
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"syscall"
	"time"

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
