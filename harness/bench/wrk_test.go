package main

import (
	"strings"
	"testing"
	"time"
)

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
}

func TestLuaScripts(t *testing.T) {
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
