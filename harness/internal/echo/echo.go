// Package echo is a backend for tests, benchmarks and the demo that shows what
// arrived through the proxy: a JSON echo of the request on any path, a
// WebSocket echo on /ws, a server-sent events stream on /sse, and a tiny fixed
// answer on /small (or ?small=1) for benchmarks. With Options.Assertion it
// also verifies the plugin's signed identity as a real backend would, and
// says what it found.
package echo

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/coder/websocket"

	"github.com/traefik-authgear/traefik-authgear/harness/internal/assertion"
)

// Paths with a special meaning; every other path gets the JSON echo.
const (
	PathWebSocket = "/ws"
	PathSSE       = "/sse"
	PathSmall     = "/small"
)

// MaxBody is how much of a request body the JSON echo reads and returns.
const MaxBody = 1 << 20

// authgearPrefix is the canonical prefix of the identity headers.
const authgearPrefix = "X-Authgear-"

// Request is the JSON body of an echo answer.
type Request struct {
	Method  string              `json:"method"`
	Path    string              `json:"path"`
	Query   string              `json:"query"` // raw query, without '?'
	Host    string              `json:"host"`
	Headers map[string][]string `json:"headers"` // as received, plus Host
	Body    string              `json:"body"`    // first MaxBody bytes
	// Assertion is what the backend concluded about X-Authgear-Jwt-Assertion;
	// only with Options.Assertion.
	Assertion *assertion.Result `json:"verified_assertion,omitempty"`
}

// HeaderAssertion is the JSON echo's response header that sums up
// Request.Assertion (assertion.Result.Summary), so that `curl -i` shows it
// at a glance.
const HeaderAssertion = "X-Echo-Assertion"

// Options change what the backend does beyond the plain echo.
type Options struct {
	// Assertion, when set, verifies each JSON echo's X-Authgear-Jwt-Assertion
	// (Request.Assertion, HeaderAssertion), as the demo's backend does.
	Assertion *assertion.Verifier
}

// Handler returns the echo backend (see the package doc); the JSON echo
// carries X-Echo-Authgear, the AuthgearSummary of the headers received.
func Handler() http.Handler { return HandlerWith(Options{}) }

// HandlerWith is Handler with options.
func HandlerWith(o Options) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.URL.Path == PathSmall || isSmall(r.URL.RawQuery): // nothing to encode: the benchmark backend
			w.Header()["Content-Type"] = []string{"text/plain; charset=utf-8"}
			_, _ = w.Write(smallBody)
		case r.URL.Path == PathWebSocket:
			serveWebSocket(w, r)
		case r.URL.Path == PathSSE:
			serveSSE(w, r)
		default:
			serveEcho(w, r, o.Assertion)
		}
	})
}

var smallBody = []byte("ok")

// isSmall reports whether the raw query has small=1, without parsing it all.
func isSmall(q string) bool { return strings.Contains("&"+q+"&", "&small=1&") }

// serveEcho answers the JSON echo, verifying the assertion with v if set.
func serveEcho(w http.ResponseWriter, r *http.Request, v *assertion.Verifier) {
	body, err := io.ReadAll(io.LimitReader(r.Body, MaxBody))
	if err != nil {
		http.Error(w, "echo: read body: "+err.Error(), http.StatusBadRequest)
		return
	}
	headers := maps.Clone(r.Header) // a server's request always has one
	headers["Host"] = []string{r.Host}
	req := Request{
		Method:  r.Method,
		Path:    r.URL.Path,
		Query:   r.URL.RawQuery,
		Host:    r.Host,
		Headers: headers,
		Body:    string(body),
	}
	if v != nil {
		result := v.Verify(r)
		req.Assertion = &result
	}
	out, err := json.Marshal(req)
	if err != nil {
		http.Error(w, "echo: "+err.Error(), http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "application/json")
	if s := AuthgearSummary(r.Header); s != "" {
		h.Set("X-Echo-Authgear", s)
	}
	if req.Assertion != nil {
		h.Set(HeaderAssertion, req.Assertion.Summary())
	}
	_, _ = w.Write(append(out, '\n'))
}

// AuthgearSummary renders the X-Authgear-* headers of h compactly, sorted by
// name, e.g. "session-valid=true;user-id=7b0f...;user-roles=admin,editor".
// Repeated headers are joined with ",". It returns "" when there are none.
func AuthgearSummary(h http.Header) string {
	var parts []string
	for k, v := range h {
		if len(k) > len(authgearPrefix) && strings.EqualFold(k[:len(authgearPrefix)], authgearPrefix) {
			parts = append(parts, strings.ToLower(k[len(authgearPrefix):])+"="+strings.Join(v, ","))
		}
	}
	sort.Strings(parts)
	return strings.Join(parts, ";")
}

// serveWebSocket echoes every message back until the client closes; the 101
// answer carries X-Echo-User-Id, the X-Authgear-User-Id received.
func serveWebSocket(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("X-Echo-User-Id", r.Header.Get("X-Authgear-User-Id"))
	c, err := websocket.Accept(w, r, &websocket.AcceptOptions{InsecureSkipVerify: true})
	if err != nil {
		return // Accept has answered the client
	}
	defer c.CloseNow()
	c.SetReadLimit(1 << 20)
	ctx := context.Background()
	for {
		typ, data, err := c.Read(ctx)
		if err != nil {
			return
		}
		if c.Write(ctx, typ, data) != nil {
			return
		}
	}
}

// SSE stream defaults; ?count=N and ?interval=D (a Go duration) override them.
const (
	SSECount    = 5
	SSEInterval = 20 * time.Millisecond
)

// serveSSE streams "data: user=<X-Authgear-User-Id received>", then "data: 1"
// to "data: N", one every interval, flushing each (a buffering proxy shows up
// as all events arriving at once).
func serveSSE(w http.ResponseWriter, r *http.Request) {
	count, interval, err := sseParams(r)
	if err != nil {
		http.Error(w, "echo: sse: "+err.Error(), http.StatusBadRequest)
		return
	}
	rc := http.NewResponseController(w)
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)

	if _, err := fmt.Fprintf(w, "data: user=%s\n\n", r.Header.Get("X-Authgear-User-Id")); err != nil {
		return
	}
	if rc.Flush() != nil {
		return // the writer cannot stream; the events would arrive at the end anyway
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for i := 1; i <= count; i++ {
		select {
		case <-t.C:
		case <-r.Context().Done():
			return
		}
		if _, err := fmt.Fprintf(w, "data: %d\n\n", i); err != nil {
			return
		}
		if rc.Flush() != nil {
			return
		}
	}
}

func sseParams(r *http.Request) (int, time.Duration, error) {
	count, interval := SSECount, SSEInterval
	q := r.URL.Query()
	if s := q.Get("count"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 0 || n > 10000 {
			return 0, 0, fmt.Errorf("count %q: want 0 to 10000", s)
		}
		count = n
	}
	if s := q.Get("interval"); s != "" {
		d, err := time.ParseDuration(s)
		if err != nil || d <= 0 || d > time.Minute {
			return 0, 0, fmt.Errorf("interval %q: want a Go duration from 1ns to 1m, such as 20ms", s)
		}
		interval = d
	}
	return count, interval, nil
}
