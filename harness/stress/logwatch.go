package main

import (
	"regexp"
	"strconv"
	"strings"
	"sync"
)

// logWatch receives Traefik's output and counts the lines that mention a
// panic (Traefik's recovery middleware logs "Recovered from panic in HTTP
// handler" at ERROR, and a crash prints "panic:"), and keeps the plugin's
// last cache size report (logged at DEBUG level from its stdout).
type logWatch struct {
	mu          sync.Mutex
	partial     string // the unfinished last line
	panics      tally
	cacheReport []string // cacheReportLine's submatches
}

// cacheReportLine matches the plugin's cache size report, e.g.
// `authgear middleware "flood": cache holds 10000 entries (max 10000, 3 protected) after
// 1000000 insertions, 990000 evicted to make room`.
var cacheReportLine = regexp.MustCompile(`cache holds (\d+) entries \(max (\d+)(?:, \d+ protected)?\) after (\d+) insertions, (\d+) evicted`)

// Write implements io.Writer.
func (w *logWatch) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	lines := strings.Split(w.partial+string(p), "\n")
	if w.partial = lines[len(lines)-1]; len(w.partial) > 64<<10 { // a very long line: judge what we have
		w.partial = ""
	} else {
		lines = lines[:len(lines)-1]
	}
	for _, l := range lines {
		if m := cacheReportLine.FindStringSubmatch(l); m != nil {
			w.cacheReport = m
		}
		if strings.Contains(strings.ToLower(l), "panic") {
			w.panics.add(l[:min(len(l), 300)])
		}
	}
	return len(p), nil
}

// panicLines returns the lines that mentioned a panic so far.
func (w *logWatch) panicLines() tally {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.panics
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
