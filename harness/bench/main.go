// Command bench measures the plugin beside bare Traefik, a trivial Yaegi
// plugin, Traefik's ForwardAuth and nginx auth_request on loopback (wrk,
// rows interleaved and repeated) and writes a Markdown report to
// bench/results.md: `go run ./bench` (about 19 minutes on 2 cores), or
// `go run ./bench -quick` for development.
package main

import (
	"cmp"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/traefik-authgear/traefik-authgear/harness/internal/harness"
	"github.com/traefik-authgear/traefik-authgear/harness/internal/serve"
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

// run does the benchmark and writes the report; all started is stopped on return.
func run(ctx context.Context, o options, log io.Writer) error {
	rep := &report{started: time.Now(), opts: o, loadStart: loadAverage()}
	root, err := harness.RepoRoot()
	if err != nil {
		return err
	}
	o.out = cmp.Or(o.out, filepath.Join(root, "harness", "bench", "results.md"))
	if err := ensureTools(ctx, log); err != nil {
		return err
	}
	traefikBin, err := harness.TraefikBinary()
	if err != nil {
		return err
	}
	rep.machine, rep.commit = describeMachine(ctx, traefikBin), harness.Commit(ctx, root)
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
	if o.profile {
		return runProfile(ctx, o, rep, root, dir, ctl, backend.addr, benchUserID, log)
	}
	if err := runProxies(ctx, o, rep, root, dir, ctl, backend.addr, benchUserID, log); err != nil {
		return err
	}
	if rep.mem, err = measureMemory(ctx, ctl, "http://"+backend.addr, o.sessions, log); err != nil {
		return err
	}
	if rep.assertion, err = measureAssertion(ctx, dir, ctl, "http://"+backend.addr, o.sessions, burstSlots, memWarm+o.sessions, log); err != nil {
		return err
	}
	fmt.Fprintln(log, "bench: micro-benchmarks, compiled and under Yaegi")
	rep.micro = runMicro(ctx, root)
	rep.loadEnd, rep.elapsed = loadAverage(), time.Since(rep.started)
	md := withProfileOf(o.out, rep.markdown())
	fmt.Print(md)
	fmt.Fprintf(log, "bench: report written to %s\n", o.out)
	return os.WriteFile(o.out, []byte(md), 0o644)
}

// runProxies starts the proxies, checks every row, runs the tables and the bursts.
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

// options are the benchmark's settings, from its flags (go run ./bench -h).
type options struct {
	duration, warmup                            time.Duration // one timed wrk run; one untimed run per row and latency before them
	connections, threads, reps, burst, sessions int
	latencies                                   []time.Duration // resolver latencies, one table each
	out                                         string          // Markdown report; empty: bench/results.md
	quick                                       bool
	profile                                     bool   // only the CPU profile (profile.go), its section spliced into out
	baseline                                    string // -profile: the previous code to profile beside this one
}

// quickDefaults are -quick's values of the flags not given.
var quickDefaults = map[string]string{"duration": "2s", "reps": "1", "sessions": "20000"}

func parseOptions(args []string, stderr io.Writer) (options, error) {
	var o options
	fs := flag.NewFlagSet("bench (make bench BENCH_FLAGS=...)", flag.ContinueOnError)
	fs.DurationVar(&o.duration, "duration", 10*time.Second, "length of one timed wrk run")
	fs.DurationVar(&o.warmup, "warmup", time.Second, "untimed wrk run per row before the timed ones")
	counts := map[string]*int{"connections": &o.connections, "threads": &o.threads, "reps": &o.reps, "burst": &o.burst, "sessions": &o.sessions}
	fs.IntVar(&o.connections, "connections", 32, "wrk connections (-c)")
	fs.IntVar(&o.threads, "threads", 2, "wrk threads (-t)")
	fs.IntVar(&o.reps, "reps", 3, "timed runs per row, in alternating order; the median is shown")
	fs.IntVar(&o.burst, "burst", 200, "concurrent requests with one new credential")
	fs.IntVar(&o.sessions, "sessions", 100000, "distinct sessions cached for the memory figure")
	latencies := fs.String("latency", "0,20ms", "resolver latencies, comma-separated (a bare number is milliseconds): one table each")
	fs.StringVar(&o.out, "out", "", "where to write the Markdown report (default bench/results.md)")
	fs.BoolVar(&o.quick, "quick", false, "development mode: 2 s runs, 1 repetition, 20000 sessions (explicit flags still win)")
	fs.BoolVar(&o.profile, "profile", false, "only Traefik's CPU profile of each target (wrk -t1 unless -threads); its section replaces the report's own")
	fs.StringVar(&o.baseline, "baseline", "", "with -profile: a git revision (HEAD, main~1) or a plugin folder to profile beside this code, in the same Traefik")
	if err := serve.Parse(fs, args, stderr); err != nil {
		return o, err
	}
	if o.quick {
		set := map[string]bool{}
		fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
		for name, v := range quickDefaults {
			if !set[name] {
				_ = fs.Set(name, v)
			}
		}
	}
	if o.profile {
		setUnsetFlags(fs, profileDefaults)
	} else if o.baseline != "" {
		return o, fmt.Errorf("-baseline %q: only with -profile", o.baseline)
	}
	for name, n := range counts {
		if *n <= 0 {
			return o, fmt.Errorf("-%s %d: want a positive integer", name, *n)
		}
	}
	if o.duration <= 0 || o.warmup < 0 || o.threads > o.connections {
		return o, fmt.Errorf("-duration %v, -warmup %v, -threads %d, -connections %d: want a positive duration, a non-negative warm-up, "+
			"and at least one connection per thread", o.duration, o.warmup, o.threads, o.connections)
	}
	for _, part := range strings.Split(*latencies, ",") {
		d, err := time.ParseDuration(part)
		if n, nerr := strconv.Atoi(part); nerr == nil {
			d, err = time.Duration(n)*time.Millisecond, nil
		}
		if err != nil || d < 0 {
			return o, fmt.Errorf("-latency %q: want non-negative durations such as 0,20ms", *latencies)
		}
		o.latencies = append(o.latencies, d)
	}
	if len(o.latencies) == 0 || 2*len(o.latencies) > burstSlots {
		return o, fmt.Errorf("-latency %q: want 1 to %d latencies", *latencies, burstSlots/2)
	}
	return o, nil
}
