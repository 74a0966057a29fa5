package main

import (
	"context"
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/traefik-authgear/traefik-authgear/harness/internal/harness"
	"github.com/traefik-authgear/traefik-authgear/harness/internal/stack"
)

// env is a part's stack (internal/stack, its backend reporting the identity
// it received), the oracle of the identities due, and a watch on Traefik's output.
type env struct {
	*stack.Stack
	identity oracle
	logs     *logWatch
	// tlsURL is the "websecure" entrypoint's URL (TLS, HTTP/2 by ALPN).
	tlsURL string
}

// startEnv starts a stack with Traefik options t and mws, each routed at
// /<name>/ on the plain and the TLS entrypoint (and stack.PlainRoute).
func startEnv(t harness.Options, mws ...stack.Middleware) (*env, error) {
	cfg, err := stack.Users()
	if err != nil {
		return nil, err
	}
	addr, err := harness.FreeAddr()
	if err != nil {
		return nil, err
	}
	e := &env{identity: newOracle(cfg), logs: &logWatch{}, tlsURL: "https://" + addr}
	t.EntryPoints, t.Output = map[string]string{"websecure": addr}, e.logs
	e.Stack, err = stack.Start(context.Background(), stack.Options{Middlewares: mws, Routes: routes(mws), Users: &cfg, Backend: reportIdentity, Traefik: t})
	return e, err
}

// routes are stack.DefaultRoutes, each on both entrypoints.
func routes(mws []stack.Middleware, extra ...stack.Route) []stack.Route {
	var out []stack.Route
	for _, r := range stack.DefaultRoutes(mws) {
		plain := r
		plain.EntryPoints = []string{"web"}
		r.EntryPoints, r.TLS = []string{"websecure"}, true
		out = append(out, plain, r)
	}
	return append(out, extra...)
}

// rss returns Traefik's resident memory, 0 when it cannot be read.
func (e *env) rss() int64 {
	n, _ := e.Traefik.RSS()
	return n
}

// health records whether Traefik is still running and logged no panic.
func (e *env) health(rep *report, part string) {
	panics := e.logs.panicLines()
	rep.check(part, "panics in Traefik's log", panics.String(), "0", panics.n == 0)
	select {
	case <-e.Traefik.Exited():
		rep.check(part, "Traefik still running at the end", "no: it exited", "yes", false)
	default:
	}
}

// newClient returns a client over t without redirects, proxy or cookie jar.
func newClient(t *http.Transport) *http.Client {
	return &http.Client{Timeout: 15 * time.Second, Transport: t,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// h1Client speaks HTTP/1.1 on up to conns kept-alive connections.
func h1Client(conns int) *http.Client {
	return newClient(&http.Transport{MaxIdleConns: conns, MaxIdleConnsPerHost: conns, MaxConnsPerHost: conns,
		IdleConnTimeout: 30 * time.Second, DisableCompression: true})
}

// runtimeStats reads Traefik's live heap after forced GCs and its goroutine
// count (harness.ReadRuntimeStats, through harness.DebugAPI).
func (e *env) runtimeStats() (harness.RuntimeStats, error) {
	return harness.ReadRuntimeStats(context.Background(), e.Traefik.AdminAddr)
}

// statsText formats runtime figures for the report.
func statsText(r harness.RuntimeStats) string {
	return fmt.Sprintf("%s live heap, %s goroutines", mib(r.HeapAlloc), count(r.Goroutines))
}

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
