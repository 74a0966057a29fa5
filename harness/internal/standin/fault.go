package standin

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Fault modes accepted by Fault.Mode.
const (
	ModeNormal     = ""            // answer normally (after Latency, or with Status)
	ModeHang       = "hang"        // block until the client goes away or Close is called
	ModeClose      = "close"       // close the connection without answering
	ModeReset      = "reset"       // write the start of a response, then reset the connection
	ModeHugeHeader = "huge-header" // answer with an extra 1 MiB X-Authgear-Padding header
)

// HugeHeaderSize is the length of the X-Authgear-Padding value sent in
// huge-header mode.
const HugeHeaderSize = 1 << 20

// Fault makes resolve requests misbehave. The zero value means no fault.
// Faults apply to resolve requests only, never to /_standin/ control requests.
type Fault struct {
	Latency time.Duration // added before answering
	Status  int           // when non-zero, answer this status with a short text/plain body instead of resolving
	Mode    string        // one of the Mode constants
}

// String renders f in the query form that POST /_standin/fault accepts.
func (f Fault) String() string {
	q := url.Values{}
	if f.Latency != 0 {
		q.Set("latency", f.Latency.String())
	}
	if f.Status != 0 {
		q.Set("status", strconv.Itoa(f.Status))
	}
	if f.Mode != "" {
		q.Set("mode", f.Mode)
	}
	return q.Encode()
}

// parseFault reads latency, status and mode from q; an empty q is no fault.
func parseFault(q url.Values) (f Fault, err error) {
	for k := range q {
		if k != "latency" && k != "status" && k != "mode" {
			return Fault{}, fmt.Errorf("unknown parameter %q: use latency (e.g. 20ms), status (e.g. 500) and mode (hang, close, reset, huge-header)", k)
		}
	}
	if s := q.Get("latency"); s != "" {
		if f.Latency, err = time.ParseDuration(s); err != nil || f.Latency < 0 {
			return Fault{}, fmt.Errorf("latency %q: want a non-negative Go duration such as 20ms or 1.5s", s)
		}
	}
	if s := q.Get("status"); s != "" {
		if f.Status, err = strconv.Atoi(s); err != nil || f.Status < 200 || f.Status > 599 {
			return Fault{}, fmt.Errorf("status %q: want an HTTP status from 200 to 599", s)
		}
	}
	if f.Mode = q.Get("mode"); !slices.Contains([]string{ModeNormal, ModeHang, ModeClose, ModeReset, ModeHugeHeader}, f.Mode) {
		return Fault{}, fmt.Errorf("mode %q: want one of hang, close, reset, huge-header (or none)", f.Mode)
	}
	return f, nil
}

// applyFault runs f for a resolve request and tells whether the caller should
// still answer it (false: the fault has dealt with it).
func (r *Resolver) applyFault(w http.ResponseWriter, req *http.Request, f *Fault) bool {
	if f.Latency > 0 {
		select {
		case <-time.After(f.Latency): // collected unfired since Go 1.23
		case <-req.Context().Done():
			return false
		case <-r.closed:
			abort(w, false)
			return false
		}
	}
	switch f.Mode {
	case ModeHang:
		select {
		case <-req.Context().Done():
		case <-r.closed:
			abort(w, false)
		}
		return false
	case ModeClose, ModeReset:
		abort(w, f.Mode == ModeReset)
		return false
	case ModeHugeHeader:
		w.Header()["X-Authgear-Padding"] = []string{hugeValue()}
	}
	if f.Status != 0 {
		w.Header().Set(hdrRobots, valRobots)
		msg := http.StatusText(f.Status)
		if f.Status == http.StatusInternalServerError {
			msg = "internal error" // what Authgear's resolve handler answers
		}
		http.Error(w, msg, f.Status)
		return false
	}
	return true
}

// abort closes the connection without an answer; with partial, after the
// start of one and with SO_LINGER 0 (the client gets a RST). Outside an HTTP/1
// server (HTTP/2, a ResponseRecorder) it panics with http.ErrAbortHandler.
func abort(w http.ResponseWriter, partial bool) {
	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		panic(http.ErrAbortHandler)
	}
	if partial {
		_, _ = conn.Write([]byte("HTTP/1.1 200 OK\r\nX-Authgear-Session-Valid: tr"))
		if tc, ok := conn.(*net.TCPConn); ok {
			_ = tc.SetLinger(0)
		}
	}
	conn.Close()
}

// hugeValue is built once: the header is meant to stress the client, not us.
var hugeValue = sync.OnceValue(func() string { return strings.Repeat("a", HugeHeaderSize) })

// serveControl answers the control endpoints, which are never counted as
// calls and never subject to faults:
//
//	GET  /_standin/calls   {"calls":N}
//	GET  /_standin/fault   the fault in force
//	POST /_standin/fault   ?latency=20ms&status=500&mode=hang; no query clears it
func (r *Resolver) serveControl(w http.ResponseWriter, req *http.Request) {
	switch req.URL.Path {
	case ControlPrefix + "calls":
		if allow(w, req, http.MethodGet) {
			writeJSON(w, map[string]int64{"calls": r.Calls()})
		}
	case ControlPrefix + "fault":
		f, err := parseFault(req.URL.Query())
		switch {
		case req.Method == http.MethodGet:
			writeJSON(w, faultJSON(r.CurrentFault()))
		case !allow(w, req, http.MethodPost):
		case err != nil:
			http.Error(w, "standin: fault: "+err.Error(), http.StatusBadRequest)
		default:
			r.SetFault(f)
			writeJSON(w, faultJSON(f))
		}
	default:
		http.Error(w, "standin: unknown control endpoint: use /_standin/calls or fault", http.StatusNotFound)
	}
}

// allow answers 405 and returns false unless req uses method.
func allow(w http.ResponseWriter, req *http.Request, method string) bool {
	if req.Method == method {
		return true
	}
	w.Header().Set("Allow", method)
	http.Error(w, fmt.Sprintf("standin: %s wants %s", req.URL.Path, method), http.StatusMethodNotAllowed)
	return false
}

// faultJSON is f as GET and POST /_standin/fault answer it.
func faultJSON(f Fault) map[string]any {
	return map[string]any{"latency": f.Latency.String(), "status": f.Status, "mode": f.Mode}
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set(hdrNosniff, valNosniff)
	_ = json.NewEncoder(w).Encode(v) // maps of strings and numbers always encode
}
