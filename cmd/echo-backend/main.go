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
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/traefik-authgear/traefik-authgear/internal/echo"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "echo-backend:", err)
		}
		os.Exit(2)
	}
}

// run serves until ctx is done. It prints the listening line once the port
// is open, so a script can wait for it.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("echo-backend", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("addr", "127.0.0.1:3002", "address to listen on")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q: all settings are flags (see -h)", fs.Args())
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return fmt.Errorf("listen on -addr %s: %w", *addr, err)
	}
	// No write timeout: WebSocket and SSE answers are long-lived.
	srv := &http.Server{Handler: echo.Handler(), ReadHeaderTimeout: 10 * time.Second}
	fmt.Fprintf(stdout, "echo-backend listening on http://%s\n", ln.Addr())

	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		return srv.Close()
	}
	return nil
}
