// Command echo-backend serves the echo backend (internal/echo) for the demo
// and for manual tests:
//
//	go run ./cmd/echo-backend -addr 127.0.0.1:3002
//
// Any path answers a JSON echo of the request; /ws is a WebSocket echo, /sse a
// short server-sent events stream, /small a fixed "ok" for benchmarks.
package main

import (
	"context"
	"flag"
	"io"

	"github.com/traefik-authgear/traefik-authgear/harness/internal/echo"
	"github.com/traefik-authgear/traefik-authgear/harness/internal/serve"
)

func main() { serve.Main("echo-backend", run) }

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("echo-backend", flag.ContinueOnError)
	addr := fs.String("addr", "127.0.0.1:3002", "address to listen on")
	if err := serve.Parse(fs, args, stderr); err != nil {
		return err
	}
	return serve.Serve(ctx, "echo-backend", *addr, echo.Handler(), stdout, nil)
}
