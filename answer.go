package authgear

import (
	"net/http"
	"sort"
	"strings"
	"sync"
)

// verdict is the access policy's decision (requireSession,
// rejectAnonymousUsers, allowedRoles) on one identity.
type verdict int

const (
	verdictPass         verdict = iota // the request goes on
	verdictUnauthorized                // 401, or the login redirect
	verdictForbidden                   // 403: signed in, but without an allowed role
)

// answer is what one successful resolver call established for one set of
// credentials. It is shared by every request that hits its cache entry and
// never changed after it is made.
type answer struct {
	// names are the x-authgear-* headers of the resolver's answer, sorted;
	// the values of names[i] are values[bounds[i]:bounds[i+1]]. A request is
	// given a copy of values (applyIdentity), so that a handler that edits
	// its header values in place cannot change the cached answer.
	names  []string
	values []string
	bounds []int
	// cookies are the resolver's Set-Cookie values.
	cookies []string
	// userID is x-authgear-user-id, empty without a valid session.
	userID string
	// verdict is the policy's decision for this identity.
	verdict verdict
	// plain is true when a request with this answer needs nothing but its
	// identity headers: the policy lets it through and there is no cookie to
	// forward. Only plain answers take the shortest path.
	plain bool
}

// newAnswer keeps the identity headers and cookies of a resolver response and
// decides the policy for it.
func newAnswer(h http.Header, s *settings) *answer {
	a := &answer{}
	var names []string
	for name := range h {
		if isIdentityHeader(name) {
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
	a.names = sharedLayout(names)
	if cookies := h["Set-Cookie"]; len(cookies) > 0 {
		a.cookies = cookies[:len(cookies):len(cookies)]
	}
	valid := h.Get("X-Authgear-Session-Valid") == "true"
	if valid {
		a.userID = h.Get("X-Authgear-User-Id")
	}
	a.verdict = decide(s, valid, h.Get("X-Authgear-User-Anonymous") == "true", h.Get("X-Authgear-User-Roles"))
	a.plain = a.verdict == verdictPass && (len(a.cookies) == 0 || !s.forwardCookies)
	return a
}

// decide applies requireSession, rejectAnonymousUsers and allowedRoles.
func decide(s *settings, valid, anonymous bool, roles string) verdict {
	if !s.requireSession {
		return verdictPass
	}
	if !valid || (anonymous && s.rejectAnonymous) {
		return verdictUnauthorized
	}
	if len(s.allowedRoles) == 0 {
		return verdictPass
	}
	for _, role := range strings.Split(roles, ",") {
		role = strings.TrimSpace(role)
		for _, allowed := range s.allowedRoles {
			if role == allowed {
				return verdictPass
			}
		}
	}
	return verdictForbidden
}

// applyIdentity sets the answer's identity headers on a request's headers,
// each with a values slice of the request's own (len == cap, so that
// appending cannot write into a neighbour either).
func applyIdentity(h http.Header, a *answer) {
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
