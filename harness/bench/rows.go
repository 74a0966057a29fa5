package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/traefik-authgear/traefik-authgear/harness/internal/stack"
	"github.com/traefik-authgear/traefik-authgear/harness/internal/standin"
)

// rowSpec.cred: the bench user's cookie, none, or a new session per request.
const (
	benchCookie  = "session=" + benchSession
	noCredential = ""
	freshCookie  = "<fresh>"
)

// userIdentity stands for the benchmark user's identity in expect.identity.
const userIdentity = "<bench user>"

// expect is what checkRow wants: n requests reach the backend with the
// identity (a fragment of X-Echo-Authgear, "" none) and cost minCalls to
// maxCalls resolver calls in all; with lastFree, the last one costs none.
type expect struct {
	n                  int
	identity           string
	minCalls, maxCalls int64
	lastFree           bool
}

var (
	noAuth   = expect{n: 1}                                                            // no identity, no resolver call
	missed   = expect{n: 1, identity: "session-valid=false", minCalls: 1, maxCalls: 1} // the stand-in does not know a new session
	cached   = expect{n: 2, identity: userIdentity, maxCalls: 1, lastFree: true}       // resolved at most once, the second served from the cache
	uncached = expect{n: 2, identity: userIdentity, minCalls: 2, maxCalls: 2}          // resolved every time
	revalid  = expect{n: 2, identity: userIdentity, maxCalls: 2}                       // served at once, at most one background call each
)

// rowSpec says what one row measures.
type rowSpec struct {
	name    string
	ep      string // the Traefik entrypoint or nginx server it is sent to
	nginx   bool   // its own bare row is nginx-bare, not traefik-bare
	cred    string // benchCookie, noCredential or freshCookie
	browser bool   // the dozen headers a browser sends with a page load, too
	expect  expect
	what    string // one line for the legend under the table
}

// rowSpecs are the rows in the table's order.
var rowSpecs = []rowSpec{
	{"traefik-bare", "bare", false, benchCookie, false, noAuth, "Traefik v3.6.12 routing to the backend, no middleware (the limit)"},
	{"trivial-plugin", "trivial", false, benchCookie, false, noAuth, "a trivial Yaegi plugin of the bench's own (`harness/bench/trivialplugin`: sets one request header, calls next), loaded with `localPlugins` beside this one: the interpreter's floor"},
	{"plugin-hit", "hit", false, benchCookie, false, cached, "this plugin, one session cookie, answers served from the cache"},
	{"plugin-revalidating", "reval", false, benchCookie, false, revalid, "this plugin, `cacheTTL: 1ms` and `staleWhileRevalidate: 5m`: every hit is past `cacheTTL`, served at once while a background call refreshes it"},
	{"traefik-bare-browser", "bare", false, benchCookie, true, noAuth, "traefik-bare with the dozen headers a browser sends with a page load (User-Agent, Accept, Accept-Language, Accept-Encoding, Referer, Sec-Fetch-*, Sec-Ch-Ua*, Upgrade-Insecure-Requests, Cache-Control)"},
	{"trivial-plugin-browser", "trivial", false, benchCookie, true, noAuth, "trivial-plugin with the browser's headers"},
	{"plugin-hit-browser", "hit", false, benchCookie, true, cached, "plugin-hit with the browser's headers"},
	{"plugin-anon-browser", "anon", false, noCredential, true, noAuth, "plugin-anon with the browser's headers"},
	{"plugin-anon", "anon", false, noCredential, false, noAuth, "this plugin, requests without credentials"},
	{"plugin-miss", "miss", false, freshCookie, false, missed, "this plugin, a new session cookie on every request (wrk Lua script), cache on: one resolver call each (the stand-in answers `x-authgear-session-valid: false` for an unknown session, as Authgear does)"},
	{"plugin-nocache", "nocache", false, benchCookie, false, uncached, "this plugin, `cacheTTL: 0`: no cache, but concurrent requests with the same credential still share one resolver call (hence fewer than 1 call per request under load)"},
	{"forwardauth", "forwardauth", false, benchCookie, false, uncached, "Traefik's ForwardAuth to the same resolver, `authResponseHeadersRegex: ^X-Authgear-`"},
	{"nginx-bare", "nginxbare", true, benchCookie, false, noAuth, "nginx proxying to the backend (upstream keep-alive)"},
	{"nginx-auth-cache", "nginxcache", true, benchCookie, false, cached, "nginx `auth_request` with `proxy_cache` on the auth location (Authgear's docs; key over all four credential inputs)"},
	{"nginx-auth", "nginxauth", true, benchCookie, false, uncached, "nginx `auth_request` without cache"},
}

// cookie is the Cookie header of one request of the row ("" none).
func (s rowSpec) cookie() string {
	if s.cred == freshCookie {
		return fmt.Sprintf("session=check-%d", time.Now().UnixNano())
	}
	return s.cred
}

// bareRow is the row of the same proxy without authentication.
func (s rowSpec) bareRow() string {
	if s.nginx {
		return "nginx-bare"
	}
	return "traefik-bare"
}

// runOrder is one round's order: Traefik and nginx alternate, so drifts hit both.
var runOrder = []string{"traefik-bare", "nginx-bare", "trivial-plugin", "nginx-auth-cache", "plugin-hit", "nginx-auth", "forwardauth",
	"traefik-bare-browser", "trivial-plugin-browser", "plugin-hit-browser", "plugin-anon-browser", "plugin-revalidating", "plugin-anon", "plugin-nocache", "plugin-miss"}

// roundOrder returns the rows of round r (0-based).
func roundOrder(r int) []string {
	out := slices.Clone(runOrder)
	if r%2 == 1 {
		slices.Reverse(out)
	}
	return out
}

// specOf returns the spec of a row name (the zero spec for none).
func specOf(name string) rowSpec {
	if i := slices.IndexFunc(rowSpecs, func(s rowSpec) bool { return s.name == name }); i >= 0 {
		return rowSpecs[i]
	}
	return rowSpec{}
}

const (
	// benchSession is the session every credentialed row sends: a user of
	// testdata/users.json with a full identity (roles, amr, ...).
	benchSession = "alice-session"
	// burstSlots is how many fresh sessions (0 to burstSlots-1) the bursts may
	// use; the memory figure uses the ones after them.
	burstSlots = 32
	// memWarm is how many distinct sessions warm the memory Traefik up.
	memWarm = 2000
)

// session is the i-th generated session, of a user of its own (userID(i)).
func session(i int) string { return fmt.Sprintf("gen-session-%07d", i) }

// userID is the user id of session(i).
func userID(i int) string { return fmt.Sprintf("00000000-0000-4000-8000-%012d", i) }

// usersFile writes users.json plus n users like benchSession's; it returns the path and benchSession's user id.
func usersFile(dir string, n int) (path, benchUserID string, err error) {
	cfg, err := stack.Users()
	if err != nil {
		return "", "", err
	}
	i := slices.IndexFunc(cfg.Users, func(u standin.User) bool { return slices.Contains(u.Sessions, benchSession) })
	if i < 0 {
		return "", "", fmt.Errorf("testdata/users.json has no user with session %q", benchSession)
	}
	model := cfg.Users[i]
	for i := range n {
		u := model
		u.ID, u.Email, u.Sessions = userID(i), "", []string{session(i)}
		u.AppSessions, u.AppAccessTokens, u.BearerTokens = nil, nil, nil
		cfg.Users = append(cfg.Users, u)
	}
	data, err := json.Marshal(cfg)
	path = filepath.Join(dir, "users.json")
	if err == nil {
		err = os.WriteFile(path, data, 0o644)
	}
	return path, model.ID, err
}
