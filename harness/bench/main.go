// Command bench measures the plugin side by side with bare Traefik, Traefik's
// ForwardAuth and nginx auth_request on loopback, and prints one Markdown
// report (also written to bench/results.md):
//
//	go run ./bench          # the full run (about 13 minutes on 2 cores)
//	go run ./bench -quick   # 2 s rows, one repetition, for development
//
// It starts the stand-in Authgear resolver and the echo backend as separate
// processes (built from ./cmd), two Traefik v3.6.12 processes (one bare, for
// traefik-bare and forwardauth; one with the plugin), and nginx, then drives
// every row with wrk for the same duration and connections, rows interleaved
// and repeated, taking the median. See run.go for the order of events.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	opts, err := parseOptions(os.Args[1:], os.Getenv, os.Stderr)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			os.Exit(0)
		}
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(2)
	}
	if err := run(ctx, opts); err != nil {
		if ctx.Err() != nil {
			fmt.Fprintln(os.Stderr, "bench: interrupted; everything started was stopped")
			os.Exit(130)
		}
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}
