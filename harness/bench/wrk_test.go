package main

import (
	"strings"
	"testing"
	"time"
)

const sampleWrkOutput = `Running 2s test @ http://127.0.0.1:41234/small
  2 threads and 32 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     2.61ms    1.90ms  31.22ms   88.43%
    Req/Sec     6.01k   512.33     7.10k    70.00%
  Latency Distribution
     50%    2.37ms
     75%    3.01ms
     90%    4.20ms
     99%    9.62ms
  23948 requests in 2.02s, 2.95MB read
Requests/sec:  11868.79
Transfer/sec:      1.46MB
BENCH-RESULT {"requests":23948,"duration_us":2017748,"bytes":3094876,"p50_us":2370,"p90_us":4200,"p99_us":9620,"mean_us":2610.4,"max_us":31220,"connect_errors":0,"read_errors":0,"write_errors":0,"status_errors":3,"timeouts":1}
`

func TestParseWrkOutput(t *testing.T) {
	r, err := parseWrkOutput(sampleWrkOutput)
	if err != nil {
		t.Fatal(err)
	}
	if r.Requests != 23948 || r.P50US != 2370 || r.P99US != 9620 || r.Errors() != 4 {
		t.Errorf("parsed %+v", r)
	}
	if rps := r.RPS(); rps < 11868 || rps > 11870 {
		t.Errorf("RPS() = %f, want about 11868.8", rps)
	}
}

func TestParseWrkOutputFailures(t *testing.T) {
	for name, out := range map[string]string{
		"no result line": "Running 2s test @ http://x/\n",
		"bad JSON":       "BENCH-RESULT {\"requests\":\n",
		"no requests":    `BENCH-RESULT {"requests":0,"duration_us":2000000}` + "\n",
	} {
		if _, err := parseWrkOutput(out); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

func TestWrkDuration(t *testing.T) {
	for d, want := range map[time.Duration]string{
		10 * time.Second:        "10s",
		500 * time.Millisecond:  "1s",
		2500 * time.Millisecond: "3s",
		0:                       "1s",
	} {
		if got := wrkDuration(d); got != want {
			t.Errorf("wrkDuration(%v) = %q, want %q", d, got, want)
		}
	}
}

func TestLuaScripts(t *testing.T) {
	if !strings.Contains(reportLua, resultPrefix) || !strings.Contains(reportLua, "function done(") {
		t.Error("lua/report.lua does not print the result line")
	}
	if !strings.Contains(freshLua, "function request()") || strings.Contains(reportLua, "function request()") {
		t.Error("only lua/fresh.lua may define request(): wrk sends a static request otherwise, which is faster")
	}
}
