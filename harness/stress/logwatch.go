package main

import (
	"bytes"
	"regexp"
	"strconv"
	"strings"
	"sync"
)

// logWatch receives Traefik's output and counts the lines that mention a
// panic: Traefik's recovery middleware logs "Recovered from panic in HTTP
// handler" at ERROR, and a crash prints "panic:".
type logWatch struct {
	mu      sync.Mutex
	partial []byte
	panics  int
	first   []string // the first panic lines, for the report
	// cacheReport is the last cache size report of the plugin (logged at
	// DEBUG level from its stdout), parsed by cacheReportLine.
	cacheReport []string
}

// cacheReportLine matches the plugin's cache size report, e.g.
// `authgear middleware "flood": cache holds 10000 entries (max 10000, 3 protected) after
// 1000000 insertions, 990000 evicted to make room`.
var cacheReportLine = regexp.MustCompile(`cache holds (\d+) entries \(max (\d+)(?:, \d+ protected)?\) after (\d+) insertions, (\d+) evicted`)

// Write implements io.Writer.
func (w *logWatch) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.partial = append(w.partial, p...)
	for {
		i := bytes.IndexByte(w.partial, '\n')
		if i < 0 {
			break
		}
		w.line(string(w.partial[:i]))
		w.partial = w.partial[i+1:]
	}
	if len(w.partial) > 64<<10 { // a very long line: judge what we have
		w.line(string(w.partial))
		w.partial = nil
	}
	return len(p), nil
}

func (w *logWatch) line(s string) {
	if m := cacheReportLine.FindStringSubmatch(s); m != nil {
		w.cacheReport = m
	}
	if strings.Contains(strings.ToLower(s), "panic") {
		w.panics++
		if len(w.first) < 3 {
			if len(s) > 300 {
				s = s[:300] + "..."
			}
			w.first = append(w.first, s)
		}
	}
}

// panicCount returns the number of panic lines so far and the first ones.
func (w *logWatch) panicCount() (int, []string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.panics, append([]string(nil), w.first...)
}

// lastCacheReport returns the plugin's last cache size report: entries, max
// entries, insertions and evictions; ok is false when there was none.
func (w *logWatch) lastCacheReport() (figures [4]int64, ok bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.cacheReport == nil {
		return figures, false
	}
	for i := range figures {
		figures[i], _ = strconv.ParseInt(w.cacheReport[i+1], 10, 64)
	}
	return figures, true
}
