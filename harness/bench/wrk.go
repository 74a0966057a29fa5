package main

import (
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

var (
	//go:embed lua/report.lua
	reportLua string
	//go:embed lua/fresh.lua
	freshLua string
)

// resultPrefix starts the line that lua/report.lua prints.
const resultPrefix = "BENCH-RESULT "

// wrkResult is one wrk run's summary as lua/report.lua prints it.
type wrkResult struct {
	Requests   int64   `json:"requests"`
	DurationUS int64   `json:"duration_us"`
	P50US      float64 `json:"p50_us"`
	P99US      float64 `json:"p99_us"`
	Errors     int64   `json:"errors"` // socket errors, timeouts and answers with an error status
}

// RPS returns requests per second.
func (r wrkResult) RPS() float64 {
	if r.DurationUS <= 0 {
		return 0
	}
	return float64(r.Requests) / (float64(r.DurationUS) / 1e6)
}

// parseWrkOutput finds lua/report.lua's line in wrk's output.
func parseWrkOutput(out string) (wrkResult, error) {
	var r wrkResult
	for line := range strings.Lines(out) {
		if rest, ok := strings.CutPrefix(strings.TrimSpace(line), resultPrefix); ok {
			if err := json.Unmarshal([]byte(rest), &r); err != nil {
				return r, fmt.Errorf("wrk result line %q: %w", rest, err)
			}
			if r.Requests == 0 {
				return r, errors.New("wrk made no request")
			}
			return r, nil
		}
	}
	return r, errors.New("wrk printed no result line (is the Lua script loaded?)")
}

// wrkRunner runs wrk with fixed threads and connections; it writes its Lua
// scripts once into dir.
type wrkRunner struct {
	threads, connections int
	report, fresh        string // script paths
	runs                 int    // wrk runs so far: the fresh script's run id
}

func newWrkRunner(dir string, threads, connections int) (*wrkRunner, error) {
	w := &wrkRunner{threads: threads, connections: connections, report: filepath.Join(dir, "report.lua"), fresh: filepath.Join(dir, "fresh.lua")}
	if err := os.WriteFile(w.report, []byte(reportLua), 0o644); err != nil {
		return nil, err
	}
	return w, os.WriteFile(w.fresh, []byte(reportLua+"\n"+freshLua), 0o644)
}

// browserHeaders are the dozen headers a Chromium-based browser sends with
// a page load.
var browserHeaders = []string{
	"User-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
	"Accept: text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8",
	"Accept-Language: en-GB,en;q=0.9,fr;q=0.8",
	"Accept-Encoding: gzip, deflate, br, zstd",
	"Referer: https://app.example.com/dashboard",
	"Sec-Fetch-Dest: document", "Sec-Fetch-Mode: navigate", "Sec-Fetch-Site: same-origin", "Sec-Fetch-User: ?1",
	`Sec-Ch-Ua: "Chromium";v="131", "Not_A Brand";v="24"`, "Sec-Ch-Ua-Mobile: ?0", `Sec-Ch-Ua-Platform: "Linux"`,
	"Upgrade-Insecure-Requests: 1",
	"Cache-Control: max-age=0",
}

// wrkSeconds rounds d up to whole seconds, at least one, as wrk's -d takes
// them.
func wrkSeconds(d time.Duration) int { return max(1, int((d+time.Second-1)/time.Second)) }

// run drives url for d with the requests of row s and returns wrk's summary.
func (w *wrkRunner) run(ctx context.Context, url string, d time.Duration, s rowSpec) (wrkResult, error) {
	w.runs++
	secs := wrkSeconds(d)
	args := []string{"-t", strconv.Itoa(w.threads), "-c", strconv.Itoa(w.connections), "-d", strconv.Itoa(secs) + "s", "--latency", "--timeout", "10s"}
	script := w.report
	if s.cred == freshCookie {
		script = w.fresh
	} else if s.cred != noCredential {
		args = append(args, "-H", "Cookie: "+s.cred)
	}
	if s.browser {
		for _, h := range browserHeaders {
			args = append(args, "-H", h)
		}
	}
	args = append(args, "-s", script, url, "--", fmt.Sprintf("%d-%d", os.Getpid(), w.runs))
	ctx, cancel := context.WithTimeout(ctx, time.Duration(secs)*time.Second+30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "wrk", args...)
	cmd.SysProcAttr = sysProcAttr()
	out, err := cmd.CombinedOutput()
	if ctx.Err() != nil {
		return wrkResult{}, ctx.Err()
	}
	var r wrkResult
	if err == nil {
		r, err = parseWrkOutput(string(out))
	}
	if err != nil {
		return r, fmt.Errorf("wrk %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return r, nil
}
