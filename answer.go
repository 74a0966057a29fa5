package authgear

import (
	"math"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// answer is what one successful resolver call established for one set of
// credentials. It is shared by every request that hits its cache entry and
// never changed after it is made, but for the assertions it holds.
type answer struct {
	// names are the x-authgear-* headers of the resolver's answer, sorted;
	// the values of names[i] are values[bounds[i]:bounds[i+1]], or
	// values[i] when bounds is nil (one value each, as Authgear sends). A
	// request is
	// given a copy of values (applyIdentity), so that a handler that edits
	// its header values in place cannot change the cached answer.
	names  []string
	values []string
	bounds []int
	// cookies are the resolver's Set-Cookie values.
	cookies []string
	// userID is x-authgear-user-id, empty without a valid session.
	userID string

	// The identity as the policies read it, parsed once (policy.go):
	// x-authgear-session-valid, -user-anonymous and -user-verified are
	// "true"; the roles (x-authgear-user-roles, comma-separated) and
	// authentication methods (x-authgear-session-amr, space-separated); the
	// sign-in time (x-authgear-session-authenticated-at, Unix seconds) as
	// UnixNano, 0 when unknown.
	valid, anonymous, verified, canReauthenticate bool
	roles, amr                                    []string
	authenticatedAt                               int64

	// The signed assertions of this answer, one per middleware that signs
	// (signer.go), and the end of the answer's revalidation window, which
	// caps their exp (0 when the answer was not cached). Both are protected
	// by the lock of the cache the answer is in.
	assertions []*assertion
	until      int64
	// assertion is the latest of assertions: the one a hit reads first.
	assertion *assertion
}

// newAnswer keeps the identity headers and cookies of a resolver response,
// and parses what the policies read.
func newAnswer(h http.Header) *answer {
	a := &answer{}
	var names []string
	for name := range h {
		if isIdentityHeader(name) && !isAssertionHeader(name) { // only the plugin signs
			names = append(names, name)
		}
	}
	sort.Strings(names)
	a.bounds = make([]int, 0, len(names)+1)
	a.bounds = append(a.bounds, 0)
	for _, name := range names {
		a.values = append(a.values, h[name]...)
		a.bounds = append(a.bounds, len(a.values))
	}
	if len(a.values) == len(names) {
		a.bounds = nil // one value each: values[i] is names[i]'s
	}
	a.names = sharedLayout(names)
	if cookies := h["Set-Cookie"]; len(cookies) > 0 {
		a.cookies = cookies[:len(cookies):len(cookies)]
	}
	a.valid = h.Get("X-Authgear-Session-Valid") == "true"
	if a.valid {
		parseSession(a, h)
	}
	return a
}

// parseSession reads the identity of a valid session.
func parseSession(a *answer, h http.Header) {
	a.userID = h.Get("X-Authgear-User-Id")
	a.anonymous = h.Get("X-Authgear-User-Anonymous") == "true"
	a.verified = h.Get("X-Authgear-User-Verified") == "true"
	a.canReauthenticate = h.Get("X-Authgear-User-Can-Reauthenticate") == "true"
	for _, role := range strings.Split(h.Get("X-Authgear-User-Roles"), ",") {
		if role = strings.TrimSpace(role); role != "" {
			a.roles = append(a.roles, role)
		}
	}
	a.amr = strings.Fields(h.Get("X-Authgear-Session-Amr"))
	if at, err := strconv.ParseInt(strings.TrimSpace(h.Get("X-Authgear-Session-Authenticated-At")), 10, 64); err == nil && at > 0 && at < math.MaxInt64/int64(time.Second) {
		a.authenticatedAt = at * int64(time.Second)
	}
}

// applyIdentity sets the answer's identity headers on a request's headers,
// each with a values slice of the request's own (len == cap, so that
// appending cannot write into a neighbour either, and a handler that edits
// its values in place cannot change the cached answer). Authgear sends each
// header once: one value per name takes the shortest loop under Yaegi.
func applyIdentity(h http.Header, a *answer) {
	if a.bounds != nil {
		applyIdentityValues(h, a)
		return
	}
	for i, name := range a.names {
		h[name] = []string{a.values[i]}
	}
}

// applyIdentityValues is applyIdentity for an answer with a header of
// several values.
func applyIdentityValues(h http.Header, a *answer) {
	own := make([]string, len(a.values))
	copy(own, a.values)
	b := a.bounds
	for i, name := range a.names {
		h[name] = own[b[i]:b[i+1]:b[i+1]]
	}
}

// A cached answer would otherwise keep its own copy of the header names.
// With tens of thousands of sessions cached, those copies are much of an
// entry's memory, so answers share them through a bounded, process-wide
// table. Only resolver answers feed it, never client input.
var (
	layoutsMu     sync.Mutex              // protects sharedLayouts
	sharedLayouts = map[string][]string{} // sorted header names, joined by "\n"
)

// maxSharedLayouts bounds sharedLayouts; past it, answers keep their own.
const maxSharedLayouts = 4096

// sharedLayout returns a shared slice equal to names (sorted).
func sharedLayout(names []string) []string {
	key := strings.Join(names, "\n")
	layoutsMu.Lock()
	defer layoutsMu.Unlock()
	if shared, ok := sharedLayouts[key]; ok {
		return shared
	}
	if len(sharedLayouts) < maxSharedLayouts {
		sharedLayouts[key] = names
	}
	return names
}
