package standin

import (
	"net/http"
	"strconv"
	"strings"
)

// Header names, here and below, are canonical: they are written into the
// header map directly, as Header.Set would after canonicalisation.
const (
	hdrNosniff = "X-Content-Type-Options"
	hdrRobots  = "X-Robots-Tag"
	hdrValid   = "X-Authgear-Session-Valid"
	valNosniff = "nosniff"
	valRobots  = "noindex, nofollow"
)

// answer is a precomputed set of response headers; keys[i] gets vals[i].
type answer struct{ keys, vals []string }

// write sets the answer's headers plus the two headers every resolver answer
// carries, with a single allocation for all values. Each header gets its own
// capacity-limited slice, so a caller appending to one cannot touch another.
func (a *answer) write(h http.Header) {
	n := len(a.keys)
	vals := make([]string, n+2)
	copy(vals, a.vals)
	vals[n], vals[n+1] = valNosniff, valRobots
	for i, k := range a.keys {
		h[k] = vals[i : i+1 : i+1]
	}
	h[hdrNosniff] = vals[n : n+1 : n+1]
	h[hdrRobots] = vals[n+1 : n+2 : n+2]
}

// table is an immutable compiled Config: lookups by credential value. It is
// replaced as a whole (copy on write) so readers need no lock.
type table struct {
	cfg Config // users as given, for Users

	cookieSession, cookieAppSession, cookieAppAccess string // cookie names with the prefix
	publicHost                                       string

	bearer, appSession, appAccess, session map[string]*answer

	none    answer // no credential or only invalid ones: no x-authgear header
	invalid answer // a stale IdP session cookie: valid=false and a clearing Set-Cookie
}

func newTable(cfg Config) *table {
	t := &table{
		cfg:              cfg,
		publicHost:       cfg.PublicHost,
		cookieSession:    cfg.CookiePrefix + "session",
		cookieAppSession: cfg.CookiePrefix + "app_session",
		cookieAppAccess:  cfg.CookiePrefix + "app_access_token",
		bearer:           map[string]*answer{},
		appSession:       map[string]*answer{},
		appAccess:        map[string]*answer{},
		session:          map[string]*answer{},
	}
	t.invalid = answer{
		keys: []string{"Set-Cookie", hdrValid},
		vals: []string{t.cookieSession + "=; Path=/; Expires=Thu, 01 Jan 1970 00:00:00 GMT; HttpOnly; SameSite=Lax", "false"},
	}
	for i := range cfg.Users {
		u := &cfg.Users[i]
		a := userAnswer(u)
		add(t.bearer, u.BearerTokens, a)
		add(t.appSession, u.AppSessions, a)
		add(t.appAccess, u.AppAccessTokens, a)
		add(t.session, u.Sessions, a)
	}
	return t
}

// add maps each value to a; on a duplicate the first user keeps it.
func add(m map[string]*answer, values []string, a *answer) {
	for _, v := range values {
		if _, dup := m[v]; !dup {
			m[v] = a
		}
	}
}

// userAnswer builds the headers of a valid session for u, as Authgear's
// model.SessionInfo.PopulateHeaders does.
func userAnswer(u *User) *answer {
	a := &answer{}
	set := func(k, v string) {
		a.keys = append(a.keys, k)
		a.vals = append(a.vals, v)
	}
	set(hdrValid, "true")
	set("X-Authgear-User-Id", u.ID)
	set("X-Authgear-User-Anonymous", strconv.FormatBool(u.Anonymous))
	set("X-Authgear-User-Verified", strconv.FormatBool(u.Verified))
	set("X-Authgear-User-Can-Reauthenticate", strconv.FormatBool(!u.Anonymous))
	if len(u.Roles) > 0 {
		set("X-Authgear-User-Roles", strings.Join(u.Roles, ","))
	}
	set("X-Authgear-Session-Amr", u.AMR)
	if u.AuthenticatedAt != 0 {
		set("X-Authgear-Session-Authenticated-At", strconv.FormatInt(u.AuthenticatedAt, 10))
	}
	return a
}

// resolve picks the answer for req in Authgear's order: bearer token (only on
// the public host), app_session, app_access_token, then the IdP session
// cookie. The first valid credential wins; an unknown IdP session cookie
// yields valid=false; anything else yields no identity.
func (t *table) resolve(req *http.Request) *answer {
	if tok := bearerToken(req); tok != "" && t.publicHost != "" && requestHost(req) == t.publicHost {
		if a := t.bearer[tok]; a != nil {
			return a
		}
	}
	if c, err := req.Cookie(t.cookieAppSession); err == nil {
		if a := t.appSession[c.Value]; a != nil {
			return a
		}
	}
	if c, err := req.Cookie(t.cookieAppAccess); err == nil {
		if a := t.appAccess[c.Value]; a != nil {
			return a
		}
	}
	if c, err := req.Cookie(t.cookieSession); err == nil {
		if a := t.session[c.Value]; a != nil {
			return a
		}
		return &t.invalid
	}
	return &t.none
}

// bearerToken returns the token of "Authorization: Bearer <token>", the scheme
// matched case-insensitively, split on the first space as Authgear does.
func bearerToken(req *http.Request) string {
	scheme, tok, ok := strings.Cut(req.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return ""
	}
	return tok
}

// requestHost is the host Authgear checks a token's audience against:
// X-Forwarded-Host when present (TRUST_PROXY=true), else Host.
func requestHost(req *http.Request) string {
	if h := req.Header.Get("X-Forwarded-Host"); h != "" {
		return h
	}
	return req.Host
}
