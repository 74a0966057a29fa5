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
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
)

// Paths the stand-in answers on.
const (
	PathResolve      = "/_resolver/resolve" // the path behind an app's public host
	PathResolveShort = "/resolve"           // the resolver server's own path
	ControlPrefix    = "/_standin/"         // control endpoints, see fault.go
)

// allowHeader is what Authgear's router (httprouter with HandleOPTIONS off)
// lists in a 405 answer.
const allowHeader = "GET, HEAD, OPTIONS"

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

// New returns a stand-in answering for cfg. cfg is not validated here (use
// Config.Validate or LoadConfig): when a credential is given twice, the first
// user listed keeps it.
func New(cfg Config) *Resolver {
	r := &Resolver{closed: make(chan struct{})}
	r.tab.Store(newTable(cloneConfig(cfg)))
	return r
}

// ServeHTTP answers resolve requests on PathResolve and PathResolveShort, the
// control endpoints under ControlPrefix, a redirect for a trailing slash, and
// 404 elsewhere.
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
	r.record(req)
	if f := r.fault.Load(); f != nil && !r.applyFault(w, req, f) {
		return
	}
	if req.Method != http.MethodGet && req.Method != http.MethodHead {
		// Authgear's router answers this before any middleware: no X-Robots-Tag.
		w.Header().Set("Allow", allowHeader)
		http.Error(w, http.StatusText(http.StatusMethodNotAllowed), http.StatusMethodNotAllowed)
		return
	}
	r.tab.Load().resolve(req).write(w.Header())
	w.WriteHeader(http.StatusOK)
}

// redirectTrailingSlash does what httprouter's RedirectTrailingSlash does for
// Authgear: 301 for GET, 308 for HEAD (both keep the query), and 404 for other
// methods, which have no route at all. No X-Content-Type-Options, as in the
// recorded fixture.
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

// SetFault sets the fault applied to later resolve requests; the zero Fault
// clears it. Requests already hanging keep hanging until Close or until their
// client goes away.
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

// record keeps a clone of req, without its body, for LastRequest.
func (r *Resolver) record(req *http.Request) {
	c := req.Clone(context.Background())
	c.Body = http.NoBody
	r.last.Store(c)
}

// LastRequest returns a fresh copy (no body) of the last resolve request
// received, or nil when none was.
func (r *Resolver) LastRequest() *http.Request {
	if last := r.last.Load(); last != nil {
		return last.Clone(context.Background())
	}
	return nil
}
