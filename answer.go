package authgear

import (
	"net/http"
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
	// in canonical form; each values slice has len == cap, so that a handler
	// that appends to a request's header cannot write into a shared array.
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

// knownNames and commonValues let every cached answer share one copy of the
// header names and of the usual values instead of keeping its own: with tens
// of thousands of sessions cached, that is most of an answer's memory.
var (
	knownNames = map[string]string{
		"X-Authgear-Session-Valid":            "X-Authgear-Session-Valid",
		"X-Authgear-User-Id":                  "X-Authgear-User-Id",
		"X-Authgear-User-Anonymous":           "X-Authgear-User-Anonymous",
		"X-Authgear-User-Verified":            "X-Authgear-User-Verified",
		"X-Authgear-User-Can-Reauthenticate":  "X-Authgear-User-Can-Reauthenticate",
		"X-Authgear-User-Roles":               "X-Authgear-User-Roles",
		"X-Authgear-Session-Amr":              "X-Authgear-Session-Amr",
		"X-Authgear-Session-Authenticated-At": "X-Authgear-Session-Authenticated-At",
	}
	commonValues = map[string][]string{
		"true":  {"true"},
		"false": {"false"},
		"":      {""},
	}
)

// newAnswer keeps the identity headers and cookies of a resolver response and
// decides the policy for it.
func newAnswer(h http.Header, s *settings) *answer {
	a := &answer{}
	for name, values := range h {
		if isIdentityHeader(name) {
			if shared, ok := knownNames[name]; ok {
				name = shared
			}
			if len(values) == 1 && commonValues[values[0]] != nil {
				values = commonValues[values[0]]
			}
			a.names = append(a.names, name)
			a.values = append(a.values, values[:len(values):len(values)])
		}
	}
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
