package standin

import (
	"bytes"
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"
)

// Header names, here and below, are canonical: they are written into the
// header map directly, as Header.Set would after canonicalisation.
const (
	hdrNosniff = "X-Content-Type-Options"
	hdrRobots  = "X-Robots-Tag"
	hdrValid   = "X-Authgear-Session-Valid"
	hdrAuthAt  = "X-Authgear-Session-Authenticated-At"
	valNosniff = "nosniff"
	valRobots  = "noindex, nofollow"
)

// answer is a precomputed set of response headers; keys[i] gets vals[i].
// With ago set, vals[agoIndex] is written at each answer: the Unix time ago
// before it (User.AuthenticatedAgo).
type answer struct {
	keys, vals []string
	ago        time.Duration
	agoIndex   int
}

// write sets the answer's headers plus the two every answer carries, all
// values in one allocation (capacity-limited slices: appends cannot overlap).
func (a *answer) write(h http.Header) {
	n := len(a.keys)
	vals := make([]string, n+2)
	copy(vals, a.vals)
	vals[n], vals[n+1] = valNosniff, valRobots
	if a.ago > 0 {
		vals[a.agoIndex] = strconv.FormatInt(time.Now().Add(-a.ago).Unix(), 10)
	}
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
	switch {
	case u.AuthenticatedAgo > 0:
		a.ago, a.agoIndex = time.Duration(u.AuthenticatedAgo), len(a.keys)
		set(hdrAuthAt, "") // filled in by write
	case u.AuthenticatedAt != 0:
		set(hdrAuthAt, strconv.FormatInt(u.AuthenticatedAt, 10))
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
	return cmp.Or(req.Header.Get("X-Forwarded-Host"), req.Host)
}

// User is one account the stand-in knows, with every credential that resolves
// to it. A credential value must be unique within its kind across all users.
type User struct {
	ID              string   `json:"id"`
	Email           string   `json:"email"`           // informational only
	Sessions        []string `json:"sessions"`        // values of the <prefix>session cookie (IdP session)
	AppSessions     []string `json:"appSessions"`     // values of the <prefix>app_session cookie
	AppAccessTokens []string `json:"appAccessTokens"` // values of the <prefix>app_access_token cookie
	BearerTokens    []string `json:"bearerTokens"`    // Authorization: Bearer <token>
	Roles           []string `json:"roles"`
	Anonymous       bool     `json:"anonymous"`
	Verified        bool     `json:"verified"`
	AMR             string   `json:"amr"`             // space-joined, may be empty; the header is always sent, even empty
	AuthenticatedAt int64    `json:"authenticatedAt"` // Unix seconds; 0 sends no header
	// AuthenticatedAgo, instead of AuthenticatedAt, is a sign-in this long
	// before each answer: a user of a stand-in that runs for hours (the
	// demo) stays "signed in a minute ago", for policies such as maxAuthAge.
	AuthenticatedAgo Ago `json:"authenticatedAgo,omitempty"`
}

// Ago is a duration before now, written in a users file as a Go duration
// string ("90s", "2h").
type Ago time.Duration

// MarshalJSON writes a as a Go duration string.
func (a Ago) MarshalJSON() ([]byte, error) {
	return json.Marshal(time.Duration(a).String())
}

// UnmarshalJSON reads a Go duration string.
func (a *Ago) UnmarshalJSON(data []byte) error {
	var s string
	if err := json.Unmarshal(data, &s); err != nil {
		return fmt.Errorf("authenticatedAgo must be a duration string such as \"90s\" or \"2h\": %w", err)
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("authenticatedAgo %q must be a duration such as \"90s\" or \"2h\"", s)
	}
	*a = Ago(d)
	return nil
}

// Config is what the stand-in answers for: the app's public host, its cookie
// prefix and its users. It is the shape of the users file read by LoadConfig.
type Config struct {
	PublicHost   string `json:"publicHost"`   // bearer tokens accepted only when X-Forwarded-Host (else Host) equals this
	CookiePrefix string `json:"cookiePrefix"` // Authgear's http.cookie_prefix, empty by default
	Users        []User `json:"users"`
}

// LoadConfig reads and validates a users file (JSON in the shape of Config;
// unknown fields are errors). An empty publicHost is allowed (-public-host).
func LoadConfig(path string) (Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return Config{}, fmt.Errorf("standin: read users file: %w", err)
	}
	var cfg Config
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err = dec.Decode(&cfg); err != nil {
		err = fmt.Errorf("invalid JSON (expected an object with publicHost, cookiePrefix, users): %w", err)
	} else if _, end := dec.Token(); !errors.Is(end, io.EOF) {
		err = errors.New("unexpected data after the JSON object: the file must hold exactly one object")
	} else {
		err = cfg.Validate()
	}
	if err != nil {
		return Config{}, fmt.Errorf("standin: users file %s: %w", path, err)
	}
	return cfg, nil
}

// Validate reports the first problem that would make the stand-in answer
// ambiguously or not at all, such as a duplicate id or credential.
func (c Config) Validate() error {
	if !validHeaderValue(c.PublicHost) || strings.ContainsAny(c.PublicHost, " /") {
		return fmt.Errorf("publicHost %q: must be a bare host[:port] such as auth.example.com", c.PublicHost)
	}
	if strings.Trim(c.CookiePrefix, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.") != "" {
		return fmt.Errorf("cookiePrefix %q: only cookie-name characters are allowed (letters, digits, - _ .)", c.CookiePrefix)
	}
	ids := make(map[string]int, len(c.Users))
	seen := map[string]string{} // by kind and value
	for i, u := range c.Users {
		where := fmt.Sprintf("users[%d]", i)
		if u.ID == "" {
			return fmt.Errorf("%s: id is empty: every user needs an id", where)
		}
		if !validHeaderValue(u.ID) {
			return fmt.Errorf("%s: id %q contains control characters", where, u.ID)
		}
		if j, dup := ids[u.ID]; dup {
			return fmt.Errorf("%s: id %q is already used by users[%d]", where, u.ID, j)
		}
		ids[u.ID] = i
		if !validHeaderValue(u.AMR) {
			return fmt.Errorf("%s (%s): amr %q contains control characters", where, u.ID, u.AMR)
		}
		if u.AuthenticatedAgo < 0 || u.AuthenticatedAgo != 0 && u.AuthenticatedAt != 0 {
			return fmt.Errorf("%s (%s): authenticatedAgo must be positive, and not given with authenticatedAt: give one", where, u.ID)
		}
		for _, r := range u.Roles {
			if r == "" || strings.Contains(r, ",") || !validHeaderValue(r) {
				return fmt.Errorf("%s (%s): role %q: roles must be non-empty, without commas or control characters", where, u.ID, r)
			}
		}
		kinds := []struct {
			name   string
			values []string
			cookie bool
		}{
			{"sessions", u.Sessions, true},
			{"appSessions", u.AppSessions, true},
			{"appAccessTokens", u.AppAccessTokens, true},
			{"bearerTokens", u.BearerTokens, false},
		}
		for _, k := range kinds {
			for _, v := range k.values {
				if v == "" {
					return fmt.Errorf("%s (%s): %s has an empty value: remove it", where, u.ID, k.name)
				}
				if k.cookie && !validCookieValue(v) {
					return fmt.Errorf("%s (%s): %s value %q cannot be sent as a cookie (no spaces, quotes, commas, semicolons or backslashes)", where, u.ID, k.name, v)
				}
				if !k.cookie && !validHeaderValue(v) {
					return fmt.Errorf("%s (%s): %s value %q contains control characters", where, u.ID, k.name, v)
				}
				if other, dup := seen[k.name+"\x00"+v]; dup {
					return fmt.Errorf("%s (%s): %s value %q is also given to user %q: each credential must be unique", where, u.ID, k.name, v, other)
				}
				seen[k.name+"\x00"+v] = u.ID
			}
		}
	}
	return nil
}

// validHeaderValue reports whether s can be a header value as is.
func validHeaderValue(s string) bool {
	return !strings.ContainsFunc(s, func(c rune) bool { return c < 0x20 && c != '\t' || c == 0x7f })
}

// validCookieValue follows RFC 6265 cookie-octet, which is what net/http keeps
// when it parses a Cookie header.
func validCookieValue(s string) bool {
	return !strings.ContainsFunc(s, func(c rune) bool { return c <= 0x20 || c >= 0x7f || strings.ContainsRune("\",;\\", c) })
}
