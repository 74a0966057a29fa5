package main

import (
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
)

// options are the benchmark's settings. Every flag has an environment
// variable of the same name in upper case with a BENCH_ prefix
// (BENCH_DURATION=5s); a flag given on the command line wins.
type options struct {
	duration    time.Duration   // one timed wrk run
	warmup      time.Duration   // one untimed wrk run per row and latency, before the timed ones
	connections int             // wrk -c
	threads     int             // wrk -t
	reps        int             // timed runs per row; the table shows the median
	latencies   []time.Duration // resolver latencies, one table each
	burst       int             // concurrent requests in the burst
	sessions    int             // distinct sessions cached for the memory figure
	out         string          // Markdown report; empty: bench/results.md
	rows        []string        // only these rows (development); empty: all
	skip        map[string]bool // parts to skip: table, burst, memory, micro
	profile     string          // folder for CPU profiles of the Traefik rows; empty: none
	quick       bool
}

// parseOptions reads flags from args, with defaults from getenv.
func parseOptions(args []string, getenv func(string) string, stderr io.Writer) (options, error) {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(stderr, "usage: go run ./bench [flags]   (make bench BENCH_FLAGS=\"...\")\n\n"+
			"Benchmarks the plugin against bare Traefik, ForwardAuth and nginx auth_request, and prints\n"+
			"a Markdown report (also written to bench/results.md). Every flag can also be given as an\n"+
			"environment variable: BENCH_DURATION=5s, BENCH_QUICK=1, ...\n\n")
		fs.PrintDefaults()
	}
	env := func(name, def string) string {
		if v := getenv("BENCH_" + strings.ToUpper(name)); v != "" {
			return v
		}
		return def
	}
	duration := fs.String("duration", env("duration", "10s"), "length of one timed wrk run")
	warmup := fs.String("warmup", env("warmup", "1s"), "untimed wrk run per row before the timed ones")
	connections := fs.String("connections", env("connections", "32"), "wrk connections (-c)")
	threads := fs.String("threads", env("threads", "2"), "wrk threads (-t)")
	reps := fs.String("reps", env("reps", "3"), "timed runs per row, in alternating order; the median is shown")
	latencies := fs.String("latency", env("latency", "0,20ms"), "resolver latencies, comma-separated: one table each")
	burst := fs.String("burst", env("burst", "200"), "concurrent requests with one new credential")
	sessions := fs.String("sessions", env("sessions", "100000"), "distinct sessions cached for the memory figure")
	out := fs.String("out", env("out", ""), "where to write the Markdown report (default bench/results.md)")
	rows := fs.String("rows", env("rows", ""), "comma-separated rows to run (default all)")
	skip := fs.String("skip", env("skip", ""), "comma-separated parts to skip: table, burst, memory, micro")
	profile := fs.String("profile", env("profile", ""), "folder: write a CPU profile of Traefik during the first run of each Traefik row at 0 ms (go tool pprof -top FILE); "+
		"Traefik's debug API also turns on block and mutex profiling, which slows the Traefik rows of such a run")
	quick := fs.Bool("quick", env("quick", "") == "1" || env("quick", "") == "true",
		"development mode: 2 s runs, 1 repetition, 20000 sessions (explicit flags still win)")
	if err := fs.Parse(args); err != nil {
		return options{}, err
	}
	if fs.NArg() > 0 {
		return options{}, fmt.Errorf("unexpected arguments %q: all settings are flags (see -h)", fs.Args())
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	if *quick {
		quickDefault(set, duration, "duration", "2s")
		quickDefault(set, warmup, "warmup", "1s")
		quickDefault(set, reps, "reps", "1")
		quickDefault(set, sessions, "sessions", "20000")
	}

	o := options{out: *out, quick: *quick, profile: *profile, skip: map[string]bool{}}
	var err error
	if o.duration, err = positiveDuration("duration", *duration); err != nil {
		return o, err
	}
	if o.warmup, err = time.ParseDuration(*warmup); err != nil || o.warmup < 0 {
		return o, fmt.Errorf("-warmup %q: want a non-negative duration such as 1s", *warmup)
	}
	if o.connections, err = positiveInt("connections", *connections); err != nil {
		return o, err
	}
	if o.threads, err = positiveInt("threads", *threads); err != nil {
		return o, err
	}
	if o.threads > o.connections {
		return o, fmt.Errorf("-threads %d > -connections %d: wrk needs at least one connection per thread", o.threads, o.connections)
	}
	if o.reps, err = positiveInt("reps", *reps); err != nil {
		return o, err
	}
	if o.burst, err = positiveInt("burst", *burst); err != nil {
		return o, err
	}
	if o.sessions, err = positiveInt("sessions", *sessions); err != nil {
		return o, err
	}
	if o.latencies, err = parseLatencies(*latencies); err != nil {
		return o, err
	}
	if o.rows, err = parseRowNames(*rows); err != nil {
		return o, err
	}
	for _, part := range splitList(*skip) {
		switch part {
		case "table", "burst", "memory", "micro":
			o.skip[part] = true
		default:
			return o, fmt.Errorf("-skip %q: want table, burst, memory or micro", part)
		}
	}
	return o, nil
}

// quickDefault sets a -quick default unless the flag was given.
func quickDefault(set map[string]bool, v *string, name, def string) {
	if !set[name] {
		*v = def
	}
}

func positiveDuration(name, s string) (time.Duration, error) {
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		return 0, fmt.Errorf("-%s %q: want a positive duration such as 10s", name, s)
	}
	return d, nil
}

func positiveInt(name, s string) (int, error) {
	n, err := strconv.Atoi(s)
	if err != nil || n <= 0 {
		return 0, fmt.Errorf("-%s %q: want a positive integer", name, s)
	}
	return n, nil
}

// parseLatencies reads "0,20ms"; a bare number is milliseconds.
func parseLatencies(s string) ([]time.Duration, error) {
	var out []time.Duration
	for _, part := range splitList(s) {
		d, err := time.ParseDuration(part)
		if err != nil {
			n, nerr := strconv.Atoi(part)
			if nerr != nil {
				return nil, fmt.Errorf("-latency %q: want durations such as 0,20ms", s)
			}
			d = time.Duration(n) * time.Millisecond
		}
		if d < 0 {
			return nil, fmt.Errorf("-latency %q: latencies must not be negative", s)
		}
		out = append(out, d)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("-latency %q: want at least one latency", s)
	}
	return out, nil
}

// parseRowNames checks a -rows list against the known rows.
func parseRowNames(s string) ([]string, error) {
	names := splitList(s)
	for _, n := range names {
		if !knownRow(n) {
			return nil, fmt.Errorf("-rows: unknown row %q (known: %s)", n, strings.Join(rowNames(), ", "))
		}
	}
	return names, nil
}

// splitList splits a comma-separated list, dropping empty items.
func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}
