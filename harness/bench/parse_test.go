package main

import (
	"io"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestParseGoBench(t *testing.T) {
	got := parseGoBench(`goos: linux
BenchmarkServeHTTPCacheHit-2      	   20000	      3230 ns/op	    2752 B/op	      12 allocs/op
BenchmarkStripIdentityHeaders-16  	   20000	       116.0 ns/op	       0 B/op	       0 allocs/op
BenchmarkNoMem	 1000	 50 ns/op
BenchmarkX-y/sub-2	 1000	 60 ns/op
BenchmarkServeHTTPCacheHit-2      	   20000	      3000 ns/op	    2752 B/op	      11 allocs/op
BenchmarkNotAResult-2 	 ns/op
PASS
`)
	want := []benchLine{{"BenchmarkServeHTTPCacheHit", 3000, 11}, {"BenchmarkStripIdentityHeaders", 116, 0}, {"BenchmarkNoMem", 50, 0}, {"BenchmarkX-y/sub", 60, 0}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("parseGoBench = %+v, want %+v (a name seen twice keeps its last line, -GOMAXPROCS suffixes dropped)", got, want)
	}
}

func TestParseOptions(t *testing.T) {
	o, err := parseOptions(nil, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	want := options{duration: 10 * time.Second, warmup: time.Second, connections: 32, threads: 2, reps: 3, burst: 200, sessions: 100000,
		latencies: []time.Duration{0, 20 * time.Millisecond}}
	if !reflect.DeepEqual(o, want) {
		t.Errorf("defaults = %+v, want %+v", o, want)
	}
	o, err = parseOptions([]string{"-quick", "-reps", "2", "-latency", "0,5"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if !o.quick || o.duration != 2*time.Second || o.sessions != 20000 || o.reps != 2 {
		t.Errorf("-quick with -reps 2 = %+v, want quick defaults, and the flag's reps", o)
	}
	if !reflect.DeepEqual(o.latencies, []time.Duration{0, 5 * time.Millisecond}) {
		t.Errorf("latencies = %v (a bare number is milliseconds)", o.latencies)
	}
	for _, args := range [][]string{
		{"-duration", "0s"}, {"-warmup", "-1s"}, {"-reps", "0"}, {"-threads", "4", "-connections", "2"},
		{"-latency", "-5ms"}, {"-latency", ","}, {"stray"},
	} {
		if _, err := parseOptions(args, io.Discard); err == nil {
			t.Errorf("%v: no error", args)
		}
	}
}

func TestParseWrkOutput(t *testing.T) {
	r, err := parseWrkOutput("Running 2s test @ http://127.0.0.1:41234/small\n  23948 requests in 2.02s, 2.95MB read\n" +
		`BENCH-RESULT {"requests":23948,"duration_us":2017748,"p50_us":2370,"p99_us":9620,"errors":4}` + "\n")
	if err != nil || r.Requests != 23948 || r.P50US != 2370 || r.P99US != 9620 || r.Errors != 4 {
		t.Errorf("parsed %+v, %v", r, err)
	}
	if rps := r.RPS(); rps < 11868 || rps > 11870 {
		t.Errorf("RPS() = %f, want about 11868.8", rps)
	}
	for name, out := range map[string]string{
		"no result line": "Running 2s test @ http://x/\n",
		"bad JSON":       "BENCH-RESULT {\"requests\":\n",
		"no requests":    `BENCH-RESULT {"requests":0,"duration_us":2000000}` + "\n",
	} {
		if _, err := parseWrkOutput(out); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
	for d, want := range map[time.Duration]int{10 * time.Second: 10, 500 * time.Millisecond: 1, 2500 * time.Millisecond: 3, 0: 1} {
		if got := wrkSeconds(d); got != want {
			t.Errorf("wrkSeconds(%v) = %d, want %d", d, got, want)
		}
	}
	// The Lua scripts print every field read above.
	if !strings.Contains(reportLua, resultPrefix) || !strings.Contains(reportLua, "function done(") {
		t.Error("lua/report.lua does not print the result line")
	}
	for _, field := range []string{"requests", "duration_us", "p50_us", "p99_us", "errors"} {
		if !strings.Contains(reportLua, `\"`+field+`\":`) {
			t.Errorf("lua/report.lua does not print %s", field)
		}
	}
	if !strings.Contains(freshLua, "function request()") || strings.Contains(reportLua, "function request()") {
		t.Error("only lua/fresh.lua may define request(): wrk sends a static request otherwise, which is faster")
	}
}
