// Package standin is a stand-in for Authgear's resolve endpoint
// (GET /_resolver/resolve), for tests, benchmarks and the demo.
//
// It answers as a real Authgear server does (the tests compare it with the
// answers recorded in testdata/fixtures/resolver). Tests drive it through
// Resolver's methods, or over HTTP through the control endpoints under
// /_standin/ (call count, faults).
package standin

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Paths the stand-in answers on.
const (
	PathResolve      = "/_resolver/resolve" // the path behind an app's public host
	PathResolveShort = "/resolve"           // the resolver server's own path
	ControlPrefix    = "/_standin/"         // control endpoints, see serveControl
)

// Resolver is a stand-in for Authgear's resolve endpoint. It is safe for
// concurrent use, and its hot path takes no lock.
type Resolver struct {
	tab   atomic.Pointer[table]        // current users; replaced whole by SetUsers
	fault atomic.Pointer[Fault]        // nil when no fault is set
	last  atomic.Pointer[http.Request] // last resolve request seen, cloned
	calls atomic.Int64                 // resolve requests received

	setMu sync.Mutex // serialises SetUsers so concurrent writers do not lose updates

	closed    chan struct{} // closed by Close: releases hanging requests
	closeOnce sync.Once
}

// New returns a stand-in answering for cfg, unvalidated (see Config.Validate
// and LoadConfig): a credential given twice stays with the first user listed.
func New(cfg Config) *Resolver {
	r := &Resolver{closed: make(chan struct{})}
	r.tab.Store(newTable(cloneConfig(cfg)))
	return r
}

// ServeHTTP answers resolve requests on PathResolve and PathResolveShort, the
// control endpoints under ControlPrefix, trailing-slash redirects; else 404.
func (r *Resolver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	switch p := req.URL.Path; p {
	case PathResolve, PathResolveShort:
		r.serveResolve(w, req)
	case PathResolve + "/", PathResolveShort + "/":
		redirectTrailingSlash(w, req)
	default:
		if strings.HasPrefix(p, ControlPrefix) {
			r.serveControl(w, req)
			return
		}
		http.NotFound(w, req)
	}
}

func (r *Resolver) serveResolve(w http.ResponseWriter, req *http.Request) {
	r.calls.Add(1)
	last := req.Clone(context.Background()) // for LastRequest, without its body
	last.Body = http.NoBody
	r.last.Store(last)
	if f := r.fault.Load(); f != nil && !r.applyFault(w, req, f) {
		return
	}
	if req.Method != http.MethodGet && req.Method != http.MethodHead {
		// Authgear's router (httprouter with HandleOPTIONS off) answers this
		// before any middleware: no X-Robots-Tag.
		w.Header().Set("Allow", "GET, HEAD, OPTIONS")
		http.Error(w, http.StatusText(http.StatusMethodNotAllowed), http.StatusMethodNotAllowed)
		return
	}
	r.tab.Load().resolve(req).write(w.Header())
	w.WriteHeader(http.StatusOK)
}

// redirectTrailingSlash does what httprouter's RedirectTrailingSlash does for
// Authgear: 301 for GET, 308 for HEAD (both keep the query), 404 for other
// methods (no route); no X-Content-Type-Options, as in the recorded fixture.
func redirectTrailingSlash(w http.ResponseWriter, req *http.Request) {
	code := http.StatusMovedPermanently
	switch req.Method {
	case http.MethodGet:
	case http.MethodHead:
		code = http.StatusPermanentRedirect
	default:
		http.NotFound(w, req)
		return
	}
	u := url.URL{Path: strings.TrimSuffix(req.URL.Path, "/"), RawQuery: req.URL.RawQuery}
	http.Redirect(w, req, u.String(), code)
}

// Calls returns how many resolve requests were received, faults included.
// Control, 404 and redirect requests are not counted.
func (r *Resolver) Calls() int64 { return r.calls.Load() }

// SetFault sets the fault of later resolve requests; the zero Fault clears it.
// Requests already hanging keep hanging until Close or their client goes away.
func (r *Resolver) SetFault(f Fault) {
	if f == (Fault{}) {
		r.fault.Store(nil)
		return
	}
	r.fault.Store(&f)
}

// CurrentFault returns the fault in force, the zero Fault when none.
func (r *Resolver) CurrentFault() Fault {
	if f := r.fault.Load(); f != nil {
		return *f
	}
	return Fault{}
}

// SetUsers replaces the user table; removing a user's credentials disables
// it (its session cookie then answers valid=false).
func (r *Resolver) SetUsers(users []User) {
	r.setMu.Lock()
	defer r.setMu.Unlock()
	cfg := r.tab.Load().cfg
	cfg.Users = users
	r.tab.Store(newTable(cloneConfig(cfg)))
}

// Users returns a copy of the current user table.
func (r *Resolver) Users() []User {
	return cloneConfig(r.tab.Load().cfg).Users
}

// Close closes, without an answer, every connection blocked by a hang fault
// or latency, now and from then on. It does not stop an http.Server: call it
// before closing an httptest.Server, whose Close waits for running handlers.
func (r *Resolver) Close() {
	r.closeOnce.Do(func() { close(r.closed) })
}

// cloneConfig deep-copies cfg so later changes by the caller do not reach a
// table that readers use without a lock.
func cloneConfig(cfg Config) Config {
	users := make([]User, len(cfg.Users))
	for i, u := range cfg.Users {
		u.Sessions = slices.Clone(u.Sessions)
		u.AppSessions = slices.Clone(u.AppSessions)
		u.AppAccessTokens = slices.Clone(u.AppAccessTokens)
		u.BearerTokens = slices.Clone(u.BearerTokens)
		u.Roles = slices.Clone(u.Roles)
		users[i] = u
	}
	cfg.Users = users
	return cfg
}

// LastRequest returns a fresh copy (no body) of the last resolve request
// received, or nil when none was.
func (r *Resolver) LastRequest() *http.Request {
	if last := r.last.Load(); last != nil {
		return last.Clone(context.Background())
	}
	return nil
}

// Fault modes accepted by Fault.Mode.
const (
	ModeNormal     = ""            // answer normally (after Latency, or with Status)
	ModeHang       = "hang"        // block until the client goes away or Close is called
	ModeClose      = "close"       // close the connection without answering
	ModeReset      = "reset"       // write the start of a response, then reset the connection
	ModeHugeHeader = "huge-header" // answer with an extra 1 MiB X-Authgear-Padding header
)

// HugeHeaderSize is the length of the X-Authgear-Padding of ModeHugeHeader.
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
