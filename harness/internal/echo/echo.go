// Package echo is a backend for tests, benchmarks and the demo that shows what
// arrived through the proxy: a JSON echo of the request on any path, a
// WebSocket echo on /ws, a server-sent events stream on /sse, and a tiny fixed
// answer on /small (or ?small=1) for benchmarks. It uses the standard library
// only, including the WebSocket protocol (RFC 6455, small frames).
package echo

import (
	"encoding/json"
	"io"
	"net/http"
	"sort"
	"strings"
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
}

// Handler returns the echo backend: /small (or any path with ?small=1)
// answers "ok", /ws a WebSocket echo, /sse an event stream, and every other
// path the request as JSON (see Request) with X-Echo-Authgear summarising the
// identity headers received.
func Handler() http.Handler {
	return http.HandlerFunc(serve)
}

func serve(w http.ResponseWriter, r *http.Request) {
	switch {
	case r.URL.Path == PathSmall || isSmall(r.URL.RawQuery):
		serveSmall(w)
	case r.URL.Path == PathWebSocket:
		serveWebSocket(w, r)
	case r.URL.Path == PathSSE:
		serveSSE(w, r)
	default:
		serveEcho(w, r)
	}
}

var smallBody = []byte("ok")

// serveSmall answers "ok" without encoding anything: the benchmark backend.
func serveSmall(w http.ResponseWriter) {
	w.Header()["Content-Type"] = []string{"text/plain; charset=utf-8"}
	_, _ = w.Write(smallBody)
}

// isSmall reports whether the raw query holds the parameter small=1, without
// parsing the whole query.
func isSmall(q string) bool {
	for q != "" {
		var p string
		p, q, _ = strings.Cut(q, "&")
		if p == "small=1" {
			return true
		}
	}
	return false
}

func serveEcho(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, MaxBody))
	if err != nil {
		http.Error(w, "echo: read body: "+err.Error(), http.StatusBadRequest)
		return
	}
	headers := make(map[string][]string, len(r.Header)+1)
	for k, v := range r.Header {
		headers[k] = v
	}
	headers["Host"] = []string{r.Host}
	out, err := json.Marshal(Request{
		Method:  r.Method,
		Path:    r.URL.Path,
		Query:   r.URL.RawQuery,
		Host:    r.Host,
		Headers: headers,
		Body:    string(body),
	})
	if err != nil {
		http.Error(w, "echo: "+err.Error(), http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "application/json")
	if s := AuthgearSummary(r.Header); s != "" {
		h.Set("X-Echo-Authgear", s)
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
