// Package serve runs the small HTTP servers of this repository (the stand-in
// resolver, the echo backend) as programs: signals, the listening line that
// scripts wait for, and a graceful shutdown.
package serve

import (
	"bufio"
	"context"
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
	"testing"
	"time"
)

// RunFunc is a program's body: it parses args and serves until ctx is done.
type RunFunc func(ctx context.Context, args []string, stdout, stderr io.Writer) error

// Main runs run with a context that SIGINT and SIGTERM cancel, and exits 2
// with the error (prefixed with name) if it fails.
func Main(name string, run RunFunc) {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, name+":", err)
		}
		stop()
		os.Exit(2)
	}
}

// Parse parses args into fs (its messages to stderr) and refuses positional
// arguments: every setting is a flag.
func Parse(fs *flag.FlagSet, args []string, stderr io.Writer) error {
	fs.SetOutput(stderr)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q: all settings are flags (see -h)", fs.Args())
	}
	return nil
}

// Serve listens on addr, prints "<name> listening on http://<addr>" to stdout
// once the port is open, serves h until ctx is done, then calls beforeShutdown
// (if not nil: to release long requests) and shuts down within 5 s. No write
// timeout: WebSocket and SSE answers are long-lived.
func Serve(ctx context.Context, name, addr string, h http.Handler, stdout io.Writer, beforeShutdown func()) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("listen on -addr %s: %w", addr, err)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	fmt.Fprintf(stdout, "%s listening on http://%s\n", name, ln.Addr())

	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	if beforeShutdown != nil {
		beforeShutdown()
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		return srv.Close()
	}
	return nil
}

// Start runs run with args until the test ends (then run must return nil)
// and returns the base URL of the "<name> listening on" line it prints.
func Start(t testing.TB, name string, run RunFunc, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, args, pw, io.Discard)
		pw.Close()
	}()
	t.Cleanup(func() {
		if cancel(); <-done != nil {
			t.Error("run did not return nil after cancel")
		}
	})
	line, _ := bufio.NewReader(pr).ReadString('\n')
	base, ok := strings.CutPrefix(strings.TrimSpace(line), name+" listening on ")
	if !ok {
		t.Fatalf("first line %q, want the listening line", line)
	}
	return base
}
