package main

import (
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
)

// options are the benchmark's settings, from its flags (go run ./bench -h).
type options struct {
	duration, warmup                            time.Duration // one timed wrk run; one untimed run per row and latency before them
	connections, threads, reps, burst, sessions int
	latencies                                   []time.Duration // resolver latencies, one table each
	out                                         string          // Markdown report; empty: bench/results.md
	quick                                       bool
}

// quickDefaults are -quick's values of the flags not given.
var quickDefaults = map[string]string{"duration": "2s", "reps": "1", "sessions": "20000"}

// parseOptions reads the flags in args.
func parseOptions(args []string, stderr io.Writer) (options, error) {
	var o options
	fs := flag.NewFlagSet("bench (make bench BENCH_FLAGS=...)", flag.ContinueOnError)
	fs.SetOutput(stderr)
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
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("unexpected arguments %q: all settings are flags (see -h)", fs.Args())
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
