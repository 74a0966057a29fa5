package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/traefik-authgear/traefik-authgear/harness/internal/harness"
)

// run does the whole benchmark: tools, servers, the tables, the burst, the
// memory figure, the micro-benchmarks, then prints the report to stdout and
// writes it to the output file. Progress goes to stderr. Everything started
// is stopped on return, also when ctx is cancelled (Ctrl-C).
func run(ctx context.Context, o options) error {
	log := io.Writer(os.Stderr)
	rep := &report{started: time.Now(), opts: o, loadStart: loadAverage()}
	root, err := harness.RepoRoot()
	if err != nil {
		return err
	}
	out := o.out
	if out == "" {
		out = filepath.Join(root, "harness", "bench", "results.md")
	}
	needStack := !o.skip["table"] || !o.skip["burst"]
	if needStack {
		if err := ensureTools(ctx, log); err != nil {
			return err
		}
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
	fmt.Fprintln(log, "bench: building the stand-in resolver and the echo backend")
	resolverBin, backendBin, err := buildServers(ctx, root, dir)
	if err != nil {
		return err
	}
	memUsers := 0
	if !o.skip["memory"] {
		memUsers = memWarm + o.sessions
	}
	users, err := usersFile(root, dir, memUsers)
	if err != nil {
		return err
	}
	resolver, err := startServer("stand-in resolver", resolverBin, "-addr", "127.0.0.1:0", "-users", users.path)
	if err != nil {
		return err
	}
	defer resolver.stop()
	backend, err := startServer("echo backend", backendBin, "-addr", "127.0.0.1:0")
	if err != nil {
		return err
	}
	defer backend.stop()
	ctl := newResolverCtl(resolver.addr)

	if needStack {
		if err := runStack(ctx, o, rep, dir, traefikBin, resolver, backend, users, log); err != nil {
			return err
		}
	}
	if !o.skip["memory"] {
		if err := ctl.setLatency(ctx, 0); err != nil {
			return err
		}
		m, err := measureMemory(ctx, traefikBin, ctl, backend.addr, users, o.sessions, log)
		if err != nil {
			return err
		}
		rep.mem = &m
	}
	if !o.skip["micro"] {
		fmt.Fprintln(log, "bench: micro-benchmarks, compiled and under Yaegi")
		m, err := runMicro(ctx, root)
		if err != nil {
			return err
		}
		rep.micro = &m
	}

	rep.loadEnd = loadAverage()
	rep.elapsed = time.Since(rep.started)
	md := rep.markdown()
	if _, err := io.WriteString(os.Stdout, md); err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(out, []byte(md), 0o644); err != nil {
		return err
	}
	fmt.Fprintf(log, "bench: report written to %s\n", out)
	return nil
}

// runStack starts the proxies, checks every selected row, runs the tables
// and the bursts, and stops the proxies again.
func runStack(ctx context.Context, o options, rep *report, dir, traefikBin string, resolver, backend *server, users usersInfo, log io.Writer) error {
	fmt.Fprintln(log, "bench: starting bare Traefik, Traefik with the plugin, and nginx")
	st, err := startStack(ctx, dir, traefikBin, resolver, backend, users, o.profile != "")
	if err != nil {
		return err
	}
	defer st.stop()
	if err := st.ctl.setLatency(ctx, 0); err != nil {
		return err
	}
	selected := map[string]bool{}
	for _, name := range rowNames() {
		selected[name] = len(o.rows) == 0
	}
	for _, name := range o.rows {
		selected[name] = true
	}
	for _, name := range rowNames() {
		if selected[name] {
			if err := checkRow(ctx, st, name, users.benchUserID); err != nil {
				return err
			}
		}
	}
	fmt.Fprintln(log, "bench: every row checked: identity at the backend and resolver calls as expected")

	if !o.skip["table"] {
		w, err := newWrkRunner(dir, o.threads, o.connections)
		if err != nil {
			return err
		}
		if o.profile != "" {
			if err := os.MkdirAll(o.profile, 0o755); err != nil {
				return err
			}
		}
		for _, lat := range o.latencies {
			p, err := measurePhase(ctx, st, w, o, lat, selected, log)
			if err != nil {
				return err
			}
			rep.phases = append(rep.phases, p)
		}
		if o.profile != "" {
			fmt.Fprintf(log, "bench: CPU profiles of the Traefik rows in %s (go tool pprof -top FILE)\n", o.profile)
		}
	}
	if !o.skip["burst"] {
		slot := 0
		for _, lat := range o.latencies {
			if err := st.ctl.setLatency(ctx, lat); err != nil {
				return err
			}
			for _, row := range []string{rowPluginHit, rowNginxAuthCache} {
				if slot >= burstSlots {
					return fmt.Errorf("too many bursts: at most %d (fewer -latency values)", burstSlots)
				}
				b, err := runBurst(ctx, st, row, o.burst, slot, lat)
				if err != nil {
					return err
				}
				slot++
				fmt.Fprintf(log, "[burst] %s at %s: %d resolver calls, %d/%d answered with the identity\n",
					row, fmtLatency(lat), b.calls, b.ok, b.requests)
				rep.bursts = append(rep.bursts, b)
			}
		}
	}
	return st.ctl.setLatency(ctx, 0)
}
