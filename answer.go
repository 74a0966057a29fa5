package authgear

import (
	"net/http"
	"sort"
	"strings"
)

// Verdicts of the access policy (requireSession, rejectAnonymousUsers,
// allowedRoles) on one identity.
const (
	verdictPass = iota
	verdictUnauthorized
	verdictForbidden
)

// answer is what one successful resolver call established for one set of
// credentials. It is shared by every request that hits its cache entry and
// never changed after it is made.
type answer struct {
	// names and values are the x-authgear-* headers of the resolver's answer,
	// names sorted; each values slice has len == cap, so that a handler that
	// appends to a request's header cannot write into a shared array. Names
	// and common values are shared between answers (see intern.go).
	names  []string
	values [][]string
	// cookies are the resolver's Set-Cookie values.
	cookies []string
	// userID is x-authgear-user-id, empty without a valid session.
	userID string
	// verdict is the policy's decision for this identity.
	verdict int
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
	a.values = make([][]string, len(names))
	for i, name := range names {
		values := h[name]
		switch {
		case len(values) != 1:
			values = values[:len(values):len(values)]
		case name == "X-Authgear-User-Id" || name == "X-Authgear-Session-Authenticated-At":
			values = []string{values[0]} // unique to this answer: not worth sharing
		default:
			values = sharedValue(values[0])
		}
		a.values[i] = values
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
func decide(s *settings, valid, anonymous bool, roles string) int {
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

// applyIdentity sets the answer's identity headers on a request's headers.
// A plain function, not a method: it runs on every request under Yaegi.
func applyIdentity(h http.Header, a *answer) {
	for i, name := range a.names {
		h[name] = a.values[i]
	}
}
