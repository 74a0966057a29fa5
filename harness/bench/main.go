// Command bench measures the plugin beside bare Traefik, a trivial Yaegi
// plugin, Traefik's ForwardAuth and nginx auth_request on loopback (wrk,
// rows interleaved and repeated) and writes a Markdown report to
// bench/results.md: `go run ./bench` (about 19 minutes on 2 cores), or
// `go run ./bench -quick` for development.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/traefik-authgear/traefik-authgear/harness/internal/harness"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	opts, err := parseOptions(os.Args[1:], os.Stderr)
	switch {
	case errors.Is(err, flag.ErrHelp):
		return
	case err != nil:
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(2)
	}
	if err := run(ctx, opts, os.Stderr); err != nil {
		code := 1
		if ctx.Err() != nil {
			err, code = errors.New("interrupted; everything started was stopped"), 130
		}
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(code)
	}
}

// run does the whole benchmark and writes the report; progress goes to log.
// Everything started is stopped on return, also when ctx is cancelled.
func run(ctx context.Context, o options, log io.Writer) error {
	rep := &report{started: time.Now(), opts: o, loadStart: loadAverage()}
	root, err := harness.RepoRoot()
	if err != nil {
		return err
	}
	if o.out == "" {
		o.out = filepath.Join(root, "harness", "bench", "results.md")
	}
	if err := ensureTools(ctx, log); err != nil {
		return err
	}
	traefikBin, err := harness.TraefikBinary()
	if err != nil {
		return err
	}
	rep.machine = describeMachine(ctx, traefikBin)
	dir, err := os.MkdirTemp("", "traefik-authgear-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	usersPath, benchUserID, err := usersFile(dir, burstSlots+memWarm+o.sessions)
	if err != nil {
		return err
	}
	resolver, backend, err := startServers(ctx, root, dir, usersPath, log)
	if err != nil {
		return err
	}
	defer resolver.stop()
	defer backend.stop()
	ctl := resolverCtl(resolver.addr)
	if err := runProxies(ctx, o, rep, root, dir, ctl, backend.addr, benchUserID, log); err != nil {
		return err
	}
	if rep.mem, err = measureMemory(ctx, ctl, "http://"+backend.addr, o.sessions, log); err != nil {
		return err
	}
	fmt.Fprintln(log, "bench: micro-benchmarks, compiled and under Yaegi")
	rep.micro = runMicro(ctx, root)
	rep.loadEnd, rep.elapsed = loadAverage(), time.Since(rep.started)
	md := rep.markdown()
	fmt.Print(md)
	fmt.Fprintf(log, "bench: report written to %s\n", o.out)
	return os.WriteFile(o.out, []byte(md), 0o644)
}

// runProxies starts the proxies, checks every row, runs the tables and the
// bursts, and stops the proxies again.
func runProxies(ctx context.Context, o options, rep *report, root, dir string, ctl resolverCtl, backendAddr, benchUserID string, log io.Writer) error {
	fmt.Fprintln(log, "bench: starting bare Traefik, Traefik with the plugin, and nginx")
	p, err := startProxies(ctx, root, dir, ctl, backendAddr)
	if err != nil {
		return err
	}
	defer p.stop()
	for _, s := range rowSpecs {
		if err := checkRow(ctx, p, ctl, s, benchUserID); err != nil {
			return err
		}
	}
	fmt.Fprintln(log, "bench: every row checked: identity at the backend and resolver calls as expected")
	w, err := newWrkRunner(dir, o.threads, o.connections)
	if err != nil {
		return err
	}
	for _, lat := range o.latencies {
		ph, err := measurePhase(ctx, p, ctl, w, o, lat, log)
		if err != nil {
			return err
		}
		rep.phases = append(rep.phases, ph)
	}
	for i, lat := range o.latencies {
		for j, row := range []string{"plugin-hit", "nginx-auth-cache"} {
			b, err := runBurst(ctx, p.base[specOf(row).ep], ctl, row, o.burst, 2*i+j, lat)
			if err != nil {
				return err
			}
			fmt.Fprintf(log, "[burst] %s at %s: %d resolver calls, %d/%d answered with the identity\n", row, fmtLatency(lat), b.calls, b.ok, b.requests)
			rep.bursts = append(rep.bursts, b)
		}
	}
	return ctl.setLatency(ctx, 0)
}
