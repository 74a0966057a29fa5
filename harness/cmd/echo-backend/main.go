// Command echo-backend serves the echo backend (internal/echo) for the demo
// and for manual tests:
//
//	go run ./cmd/echo-backend -addr 127.0.0.1:3002
//
// Any path answers a JSON echo of the request; /ws is a WebSocket echo, /sse a
// short server-sent events stream, /small a fixed "ok" for benchmarks.
//
// With -jwks-url (the middleware's jwksPath as the backend reaches it, e.g.
// http://127.0.0.1:8080/.well-known/authgear-jwks.json) and -audience (its
// jwtAssertionAudience), it also verifies X-Authgear-Jwt-Assertion as a real
// backend would and says what it found: X-Echo-Assertion and the JSON's
// "verified_assertion".
package main

import (
	"context"
	"errors"
	"flag"
	"io"

	"github.com/traefik-authgear/traefik-authgear/harness/internal/assertion"
	"github.com/traefik-authgear/traefik-authgear/harness/internal/echo"
	"github.com/traefik-authgear/traefik-authgear/harness/internal/serve"
)

func main() { serve.Main("echo-backend", run) }

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("echo-backend", flag.ContinueOnError)
	addr := fs.String("addr", "127.0.0.1:3002", "address to listen on")
	jwksURL := fs.String("jwks-url", "", "verify X-Authgear-Jwt-Assertion with the JWKS at this URL (the middleware's jwksPath); empty: do not verify")
	issuer := fs.String("issuer", "traefik-authgear", "the iss to accept (jwtAssertionIssuer), with -jwks-url")
	audience := fs.String("audience", "", "this backend's aud (jwtAssertionAudience), required with -jwks-url")
	if err := serve.Parse(fs, args, stderr); err != nil {
		return err
	}
	var o echo.Options
	if *jwksURL != "" {
		if *audience == "" {
			return errors.New("-audience is required with -jwks-url: the jwtAssertionAudience of the middleware in front")
		}
		o.Assertion = assertion.NewVerifier(assertion.Config{JWKSURL: *jwksURL, Issuer: *issuer, Audience: *audience})
	}
	return serve.Serve(ctx, "echo-backend", *addr, echo.HandlerWith(o), stdout, nil)
}
