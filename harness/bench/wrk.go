package main

import (
	"bufio"
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

//go:embed lua/report.lua
var reportLua string

//go:embed lua/fresh.lua
var freshLua string

// resultPrefix starts the line that lua/report.lua prints.
const resultPrefix = "BENCH-RESULT "

// wrkResult is one wrk run's summary as lua/report.lua prints it.
type wrkResult struct {
	Requests      int64   `json:"requests"`
	DurationUS    int64   `json:"duration_us"`
	Bytes         int64   `json:"bytes"`
	P50US         float64 `json:"p50_us"`
	P90US         float64 `json:"p90_us"`
	P99US         float64 `json:"p99_us"`
	MeanUS        float64 `json:"mean_us"`
	MaxUS         float64 `json:"max_us"`
	ConnectErrors int64   `json:"connect_errors"`
	ReadErrors    int64   `json:"read_errors"`
	WriteErrors   int64   `json:"write_errors"`
	StatusErrors  int64   `json:"status_errors"` // answers with a status >= 400
	Timeouts      int64   `json:"timeouts"`
}

// RPS returns requests per second.
func (r wrkResult) RPS() float64 {
	if r.DurationUS <= 0 {
		return 0
	}
	return float64(r.Requests) / (float64(r.DurationUS) / 1e6)
}

// Errors returns the failed requests: socket errors, timeouts and answers
// with an error status.
func (r wrkResult) Errors() int64 {
	return r.ConnectErrors + r.ReadErrors + r.WriteErrors + r.StatusErrors + r.Timeouts
}

// parseWrkOutput finds lua/report.lua's line in wrk's output.
func parseWrkOutput(out string) (wrkResult, error) {
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(strings.TrimSpace(sc.Text()), resultPrefix); ok {
			var r wrkResult
			if err := json.Unmarshal([]byte(rest), &r); err != nil {
				return wrkResult{}, fmt.Errorf("wrk result line %q: %w", rest, err)
			}
			if r.Requests == 0 {
				return r, errors.New("wrk made no request")
			}
			return r, nil
		}
	}
	return wrkResult{}, errors.New("wrk printed no result line (is the Lua script loaded?)")
}

// wrkRunner runs wrk with fixed threads and connections; it writes its Lua
// scripts once into dir.
type wrkRunner struct {
	threads, connections int
	report, fresh        string // script paths
	runs                 int    // wrk runs so far: the fresh script's run id
}

func newWrkRunner(dir string, threads, connections int) (*wrkRunner, error) {
	w := &wrkRunner{
		threads:     threads,
		connections: connections,
		report:      filepath.Join(dir, "report.lua"),
		fresh:       filepath.Join(dir, "fresh.lua"),
	}
	if err := os.WriteFile(w.report, []byte(reportLua), 0o644); err != nil {
		return nil, err
	}
	if err := os.WriteFile(w.fresh, []byte(reportLua+"\n"+freshLua), 0o644); err != nil {
		return nil, err
	}
	return w, nil
}

// load says what the requests of one run carry.
type load struct {
	cookie  string // a Cookie header on every request; empty: none
	fresh   bool   // a new session cookie on every request (overrides cookie)
	browser bool   // the headers of a browser's page load on every request
}

// browserHeaders are the dozen headers a Chromium-based browser sends with
// a page load.
var browserHeaders = []string{
	"User-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
	"Accept: text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8",
	"Accept-Language: en-GB,en;q=0.9,fr;q=0.8",
	"Accept-Encoding: gzip, deflate, br, zstd",
	"Referer: https://app.example.com/dashboard",
	"Sec-Fetch-Dest: document",
	"Sec-Fetch-Mode: navigate",
	"Sec-Fetch-Site: same-origin",
	"Sec-Fetch-User: ?1",
	`Sec-Ch-Ua: "Chromium";v="131", "Not_A Brand";v="24"`,
	"Sec-Ch-Ua-Mobile: ?0",
	`Sec-Ch-Ua-Platform: "Linux"`,
	"Upgrade-Insecure-Requests: 1",
	"Cache-Control: max-age=0",
}

// run drives url for d and returns wrk's summary.
func (w *wrkRunner) run(ctx context.Context, url string, d time.Duration, l load) (wrkResult, error) {
	w.runs++
	secs := int((d + time.Second - 1) / time.Second)
	args := []string{
		"-t", strconv.Itoa(w.threads),
		"-c", strconv.Itoa(w.connections),
		"-d", wrkDuration(d),
		"--latency", "--timeout", "10s",
	}
	script := w.report
	if l.fresh {
		script = w.fresh
	} else if l.cookie != "" {
		args = append(args, "-H", "Cookie: "+l.cookie)
	}
	if l.browser {
		for _, h := range browserHeaders {
			args = append(args, "-H", h)
		}
	}
	args = append(args, "-s", script, url)
	if l.fresh {
		args = append(args, "--", fmt.Sprintf("%d-%d", os.Getpid(), w.runs))
	}
	ctx, cancel := context.WithTimeout(ctx, time.Duration(secs+30)*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "wrk", args...)
	cmd.SysProcAttr = sysProcAttr()
	out, err := cmd.CombinedOutput()
	if ctx.Err() != nil {
		return wrkResult{}, ctx.Err()
	}
	if err != nil {
		return wrkResult{}, fmt.Errorf("wrk %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	r, err := parseWrkOutput(string(out))
	if err != nil {
		return r, fmt.Errorf("wrk %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return r, nil
}

// wrkDuration renders d for wrk's -d, which takes whole units: "10s", or
// milliseconds are rounded up to a second.
func wrkDuration(d time.Duration) string {
	secs := int64((d + time.Second - 1) / time.Second)
	if secs < 1 {
		secs = 1
	}
	return strconv.FormatInt(secs, 10) + "s"
}
