// Command standin-resolver serves a stand-in Authgear resolver
// (internal/standin) for the demo and for manual tests:
//
//	go run ./cmd/standin-resolver -addr 127.0.0.1:3001 -users testdata/users.json
//
// It answers GET /_resolver/resolve (and /resolve) like Authgear, and the
// control endpoints under /_standin/ (calls, fault).
package main

import (
	"context"
	"flag"
	"fmt"
	"io"

	"github.com/traefik-authgear/traefik-authgear/harness/internal/serve"
	"github.com/traefik-authgear/traefik-authgear/harness/internal/standin"
)

func main() { serve.Main("standin-resolver", run) }

// run serves until ctx is done, printing the listening line once it is open.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("standin-resolver", flag.ContinueOnError)
	addr := fs.String("addr", "127.0.0.1:3001", "address to listen on")
	usersPath := fs.String("users", "testdata/users.json", "users file: JSON with publicHost, cookiePrefix and users")
	publicHost := fs.String("public-host", "", "public Authgear host that bearer tokens are bound to (overrides the users file)")
	cookiePrefix := fs.String("cookie-prefix", "", "Authgear cookie prefix (overrides the users file)")
	latency := fs.Duration("latency", 0, "latency added to every resolve request at start (change it with POST /_standin/fault)")
	if err := serve.Parse(fs, args, stderr); err != nil {
		return err
	}
	if *latency < 0 {
		return fmt.Errorf("-latency %v: must not be negative", *latency)
	}

	cfg, err := standin.LoadConfig(*usersPath)
	if err != nil {
		return err
	}
	fs.Visit(func(f *flag.Flag) {
		switch f.Name {
		case "public-host":
			cfg.PublicHost = *publicHost
		case "cookie-prefix":
			cfg.CookiePrefix = *cookiePrefix
		}
	})
	if err := cfg.Validate(); err != nil {
		return err
	}
	if cfg.PublicHost == "" {
		return fmt.Errorf("no public host: set publicHost in %s or pass -public-host", *usersPath)
	}

	resolver := standin.New(cfg)
	if *latency > 0 {
		resolver.SetFault(standin.Fault{Latency: *latency})
	}
	return serve.Serve(ctx, "standin-resolver", *addr, resolver, stdout, resolver.Close)
}
