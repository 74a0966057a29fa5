package authgear

import "time"

// verdict is the access policy's decision on one request: it passes, or the
// reason it is refused. Each reason has its own answer (refusal.go) and its
// own count in the metrics.
type verdict int

const (
	verdictPass verdict = iota // the request goes on
	// 401: no credential, or the resolver could not say (onResolverError:
	// anonymous).
	verdictNoSession
	// 401, error="invalid_token": credentials were sent but Authgear found no
	// valid session for them.
	verdictInvalidToken
	// 401, step-up: an Authgear anonymous user (rejectAnonymousUsers).
	verdictAnonymous
	// 403: the user is not verified (requireVerified).
	verdictNotVerified
	// 403: the user has none of allowedRoles.
	verdictRole
	// 401, step-up: the session was not signed in with any of requireAMR.
	verdictAMR
	// 401, step-up: the sign-in is older than maxAuthAge, or unknown.
	verdictAuthAge

	verdictCount // the number of verdicts
)

// policy is one middleware's access rules, decided on the identity that a
// cached answer holds already parsed (answer.go): nothing is parsed from
// strings on a hit. Middlewares over one Authgear app share the cache, and
// each applies its own policy to the shared answers.
type policy struct {
	requireSession  bool // implied by every rule below
	rejectAnonymous bool
	requireVerified bool
	allowedRoles    []string
	requireAMR      []string
	maxAuthAge      int64 // nanoseconds; 0 for no bound
}

// decide applies the policy to an answer at time now (UnixNano). The rules
// are checked in the order a user would fix them: sign in, as a real user,
// verified, with a role, then how and when. (A function, not a method: it
// runs on every hit of a middleware with a policy, and under Yaegi a method
// call also builds a method value.)
func decide(p *policy, a *answer, now int64) verdict {
	if !p.requireSession {
		return verdictPass
	}
	if !a.valid {
		return verdictInvalidToken
	}
	if a.anonymous && p.rejectAnonymous {
		return verdictAnonymous
	}
	if p.requireVerified && !a.verified {
		return verdictNotVerified
	}
	if len(p.allowedRoles) > 0 && !sharesAny(a.roles, p.allowedRoles) {
		return verdictRole
	}
	if len(p.requireAMR) > 0 && !sharesAny(a.amr, p.requireAMR) {
		return verdictAMR
	}
	if p.maxAuthAge > 0 && (a.authenticatedAt == 0 || now-a.authenticatedAt > p.maxAuthAge) {
		return verdictAuthAge
	}
	return verdictPass
}

// sharesAny reports whether the two lists have an item in common.
func sharesAny(have, want []string) bool {
	for _, h := range have {
		for _, w := range want {
			if h == w {
				return true
			}
		}
	}
	return false
}

// maxAuthAgeLimit bounds maxAuthAge: a longer one is no recent-sign-in rule
// at all (Authgear's sessions last 30 days by default).
const maxAuthAgeLimit = 30 * 24 * time.Hour
