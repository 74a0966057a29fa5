package echo

import (
	"fmt"
	"net/http"
	"strconv"
	"time"
)

// SSE stream defaults; ?count=N and ?interval=D (a Go duration) override them.
const (
	SSECount    = 5
	SSEInterval = 20 * time.Millisecond
)

// serveSSE streams server-sent events, flushing each one: first
// "data: user=<X-Authgear-User-Id received>", then "data: 1" to "data: N", one
// every interval. The stream ends after the last event or when the client goes
// away. A proxy that buffers shows up as all events arriving at once.
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
