// Package authgear is a Traefik middleware plugin that puts Authgear
// authentication in front of any backend.
//
// For every request it removes the x-authgear-* headers the client sent, asks
// Authgear's resolve endpoint who the request's credentials belong to (or
// takes the answer from a bounded cache), and copies the x-authgear-* headers
// of that answer onto the request before passing it on. The backend reads the
// identity from those headers instead of implementing authentication itself.
//
// Traefik interprets this package with Yaegi v0.16.1, whose standard library
// stops at Go 1.22. The rules of thumb below were each learnt from a test
// that passed compiled and failed interpreted (tools/yaegi-test.sh, the
// harness's interpreted package, a real Traefik); they are stated here once:
//
//   - no select on the request path: one select statement shares its case
//     array between goroutines (a waiter woke on another request's channel);
//     wait with a plain receive and context.AfterFunc;
//   - one value per assignment: "a, b = f(x), y" and a nil in a multiple
//     assignment to an interface field did not take;
//   - no named results: a function returned one result's value for both;
//   - no case list in a tagless switch ("case a, b:"): only a was tested;
//     join the conditions with ||;
//   - no loop variable reaching a closure or a go statement; a goroutine
//     takes its work from a channel;
//   - no errors.As on the plugin's own types: it panics;
//   - no interpreted function or method value held by the standard library
//     beyond one request (an http.Client's CheckRedirect, a DialContext):
//     it keeps the frames of its creator, and so a reloaded middleware's
//     previous instance, reachable;
//   - every method in methodValues (yaegi.go), which takes their values as
//     the package initialises: Yaegi builds some methods' reflect types at
//     their first call, without a lock, and two requests making it raced;
//   - nothing newer than Go 1.22: no range over an int (it crashes Traefik
//     at start-up), no min, max or clear, no http.ParseCookie;
//   - every interpreted statement and call costs far more than compiled Go,
//     so the request path leans on single standard-library calls and keeps
//     rare work in functions of its own.
package authgear

import (
	"context"
	"fmt"
	"net/http"
	"time"
)

// Config is the middleware's configuration as Traefik decodes it.
//
// Traefik decodes plugin configuration with mapstructure: keys match field
// names case-insensitively and have no duration decoding, so durations are
// strings that New parses. Docker labels deliver every value as a string;
// weakly typed decoding turns "5000" and "true" into the int and bool fields.
type Config struct {
	// ResolverURL is the absolute URL of Authgear's resolve endpoint,
	// e.g. https://myapp.authgear.cloud/_resolver/resolve. Required.
	ResolverURL string `json:"resolverURL,omitempty"`
	// ResolverHost is the Authgear app's public host, sent to the resolver as
	// Host and X-Forwarded-Host. Defaults to the host of ResolverURL.
	ResolverHost string `json:"resolverHost,omitempty"`
	// Timeout limits one resolver call ("5s", "500ms", or seconds as "5").
	Timeout string `json:"timeout,omitempty"`
	// CacheTTL is how long a resolver answer is reused; "0" turns caching off.
	CacheTTL string `json:"cacheTTL,omitempty"`
	// StaleWhileRevalidate is how long after CacheTTL a cached answer is
	// still served at once while one background call refreshes it (RFC
	// 5861's name); past it, requests wait for the resolver.
	StaleWhileRevalidate string `json:"staleWhileRevalidate,omitempty"`
	// CacheMaxEntries bounds the number of cached answers; must be > 0.
	CacheMaxEntries int `json:"cacheMaxEntries,omitempty"`
	// CookiePrefix is Authgear's http.cookie_prefix.
	CookiePrefix string `json:"cookiePrefix,omitempty"`
	// StaleIfError is how long after expiry a cached answer may still be
	// used while the resolver is failing.
	StaleIfError string `json:"staleIfError,omitempty"`
	// OnResolverError is "reject" (502, or 504 on timeout) or "anonymous"
	// (the request goes on without identity headers).
	OnResolverError string `json:"onResolverError,omitempty"`
	// RequireSession refuses requests without a valid session with 401.
	RequireSession bool `json:"requireSession,omitempty"`
	// RejectAnonymousUsers makes Authgear anonymous users count as not signed
	// in for RequireSession and AllowedRoles.
	RejectAnonymousUsers bool `json:"rejectAnonymousUsers,omitempty"`
	// AllowedRoles, when not empty, requires a session with at least one of
	// these roles (403 otherwise) and implies RequireSession.
	AllowedRoles []string `json:"allowedRoles,omitempty"`
	// RequireVerified refuses (403) a session whose user is not verified;
	// implies RequireSession.
	RequireVerified bool `json:"requireVerified,omitempty"`
	// RequireAMR, when not empty, requires a session signed in with at least
	// one of these authentication methods (x-authgear-session-amr, e.g. mfa,
	// otp), else a step-up challenge; implies RequireSession.
	RequireAMR []string `json:"requireAMR,omitempty"`
	// MaxAuthAge, when set, requires a session signed in at most this long
	// before each request (x-authgear-session-authenticated-at), else a
	// step-up challenge; implies RequireSession.
	MaxAuthAge string `json:"maxAuthAge,omitempty"`
	// LoginURL, with RequireSession, redirects browser navigations without a
	// session (or needing a fresh sign-in) to this URL with the original URL
	// in redirect_uri.
	LoginURL string `json:"loginURL,omitempty"`
	// ForwardResolverCookies adds the resolver's Set-Cookie headers to the
	// client's response.
	ForwardResolverCookies bool `json:"forwardResolverCookies,omitempty"`
	// TLS configures the connection to the resolver.
	TLS TLSConfig `json:"tls,omitempty"`
	// WebhookPath, when set, is the path on which the middleware receives
	// Authgear webhook deliveries and evicts the named user's cached answers.
	WebhookPath string `json:"webhookPath,omitempty"`
	// WebhookSecret is the webhook signature secret shown in Authgear's
	// portal. Required with WebhookPath.
	WebhookSecret string `json:"webhookSecret,omitempty"`

	// WebhookSecretFile is a file that holds the webhook secret, instead of
	// WebhookSecret (a Docker or Swarm secret under /run/secrets).
	WebhookSecretFile string `json:"webhookSecretFile,omitempty"`
	// WebhookPeers lists the other Traefik replicas ("host:port" or
	// "http(s)://host:port"; a DNS name is resolved at each delivery, to
	// every address it has) to which a verified delivery is relayed.
	WebhookPeers []string `json:"webhookPeers,omitempty"`

	// JWTAssertion adds X-Authgear-Jwt-Assertion, an ES256 JWT of the
	// identity, to every request with a valid session that the policy lets
	// through (signer.go).
	JWTAssertion bool `json:"jwtAssertion,omitempty"`
	// JWTAssertionLifetime bounds an assertion's life before its leeway
	// (default "5m").
	JWTAssertionLifetime string `json:"jwtAssertionLifetime,omitempty"`
	// JWTAssertionKeyFile is a PEM file holding the P-256 private key to sign
	// with; without it (or JWTAssertionKey) a key is generated per process.
	JWTAssertionKeyFile string `json:"jwtAssertionKeyFile,omitempty"`
	// JWTAssertionKey is the same key as inline PEM.
	JWTAssertionKey string `json:"jwtAssertionKey,omitempty"`
	// JWTAssertionPreviousKeys are PEM keys (inline or files) published at
	// JWKSPath but not used to sign: the keys of before a rotation.
	JWTAssertionPreviousKeys []string `json:"jwtAssertionPreviousKeys,omitempty"`
	// JWTAssertionAudience is the assertion's aud (default: the middleware's
	// name as Traefik gives it, e.g. "auth-admin@file").
	JWTAssertionAudience string `json:"jwtAssertionAudience,omitempty"`
	// JWTAssertionIssuer is the assertion's iss (default "traefik-authgear").
	JWTAssertionIssuer string `json:"jwtAssertionIssuer,omitempty"`
	// JWKSPath, when set, is the path on which the middleware serves the
	// public keys of every signing middleware of the plugin (a JWKS).
	JWKSPath string `json:"jwksPath,omitempty"`

	// MetricsPath, when set, is the path on which the middleware serves the
	// metrics of every middleware of the plugin, in Prometheus' text format.
	MetricsPath string `json:"metricsPath,omitempty"`
	// MetricsAllowedIPs are the CIDRs (or addresses) MetricsPath answers;
	// default loopback only.
	MetricsAllowedIPs []string `json:"metricsAllowedIPs,omitempty"`

	// UnknownOptions receives every key Traefik's decoder could not match to
	// a field above (mapstructure's ",remain"): New refuses them, naming the
	// closest option, instead of silently dropping a mistyped one.
	UnknownOptions map[string]interface{} `json:"-" mapstructure:",remain"`
}

// TLSConfig configures the TLS client that talks to the resolver.
type TLSConfig struct {
	// CA is a PEM file path, or inline PEM, of a CA to trust in addition to
	// the system's.
	CA string `json:"ca,omitempty"`
	// InsecureSkipVerify turns certificate verification off (development only).
	InsecureSkipVerify bool `json:"insecureSkipVerify,omitempty"`
	// UnknownOptions receives mistyped keys under tls, as Config's does.
	UnknownOptions map[string]interface{} `json:"-" mapstructure:",remain"`
}

// CreateConfig returns the default configuration.
func CreateConfig() *Config {
	return &Config{
		Timeout:                "5s",
		CacheTTL:               "10s",
		StaleWhileRevalidate:   "5m",
		CacheMaxEntries:        10000,
		StaleIfError:           "0",
		OnResolverError:        onErrorReject,
		ForwardResolverCookies: true,
		JWTAssertionLifetime:   "5m",
	}
}

// Middleware is the Authgear middleware handler.
type Middleware struct {
	next        http.Handler
	settings    *settings
	shared      *instance
	cache       *cache        // shared.app.cache, one pointer closer
	metrics     *metrics      // shared.metrics
	cookies     *cookieNames  // settings.cookies
	policy      *policy       // &settings.policy, nil when it lets every request through
	served      *servedCounts // shared.served
	signer      *signer       // shared.signer, nil without jwtAssertion
	plain       bool          // no policy and no signer: an answer needs nothing but its headers
	ownPaths    bool          // webhookPath or metricsPath is set
	schemeKeyed bool          // the resolver's scheme is the request's (a bare resolverHost): keyed too
}

// New validates the configuration and creates the middleware. The cache and
// the HTTP client are shared by every middleware over the same Authgear app
// (the same resolver-side settings, whatever the policies) and kept across
// configuration reloads. New starts no goroutine and makes no network call.
func New(ctx context.Context, next http.Handler, config *Config, name string) (http.Handler, error) {
	if config == nil {
		config = CreateConfig()
	}
	s, err := parseSettings(config)
	if err != nil {
		return nil, fmt.Errorf("authgear middleware %q: %w", name, err)
	}
	shared := sharedInstance(name, s)
	m := &Middleware{
		next:        next,
		settings:    s,
		shared:      shared,
		cache:       shared.app.cache,
		metrics:     shared.metrics,
		served:      shared.served,
		signer:      shared.signer,
		cookies:     &s.cookies,
		ownPaths:    s.webhookPath != "" || s.metricsPath != "" || s.jwksPath != "",
		schemeKeyed: s.resolverScheme == "",
	}
	if s.policy.requireSession {
		m.policy = &s.policy
	}
	m.plain = m.policy == nil && m.signer == nil
	return m, nil
}

// ServeHTTP runs the middleware for one request: answer its own paths,
// strip forged identity headers, send requests without credentials on, and
// key the rest for serveWithCredentials; every branch is a function of its
// own, so that each request pays only for the frames it uses under Yaegi
// (see the package doc).
func (m *Middleware) ServeHTTP(rw http.ResponseWriter, req *http.Request) {
	if m.ownPaths && serveOwnPath(m, rw, req) {
		return
	}

	// 1. Identity headers sent by the client are forgeries.
	stripIdentityHeaders(req)

	// 2. Which credentials does the request carry? (Without a Cookie or an
	// Authorization header, none: then serveWithCredentials's frame is not
	// paid.)
	if len(req.Header["Cookie"])+len(req.Header["Authorization"]) == 0 {
		serveWithoutCredentials(m, rw, req)
		return
	}
	serveWithCredentials(m, rw, req)
}

// serveWithCredentials keys the request's credentials and serves a cache
// hit: a fresh answer with no cookie to forward, to which the middleware's
// policy (if any) applies; everything else goes to serveNotFresh. A
// function of its own, so that requests without credentials do not pay for
// its frame under Yaegi.
func serveWithCredentials(m *Middleware, rw http.ResponseWriter, req *http.Request) {
	key := credentialKey(req, m.cookies)
	if key == "" {
		serveWithoutCredentials(m, rw, req)
		return
	}
	if m.schemeKeyed {
		key = schemeScopedKey(m, req, key)
	}
	c := m.cache
	c.mu.Lock()
	e := c.entries[key]
	now := time.Now().UnixNano()
	if e == nil || now >= e.hitUntil {
		serveNotFresh(m, rw, req, key, e)
		return
	}
	if c.protected.front != e {
		touch(c, e)
	}
	m.served.hits++
	if !m.plain {
		serveHeld(m, rw, req, e.ans, now)
		return
	}
	c.mu.Unlock()
	applyIdentity(req.Header, e.ans)
	m.next.ServeHTTP(rw, req)
}

// serveHeld is serveAnswer for a cached answer, called with m.cache.mu held
// (it releases it): the middleware's assertion that the answer holds is
// taken under the lock the hit holds anyway, so that a hit with jwtAssertion
// on costs one header more than without, until the assertion needs
// renewing.
func serveHeld(m *Middleware, rw http.ResponseWriter, req *http.Request, ans *answer, now int64) {
	token := ""
	if a := ans.assertion; a != nil && a.signer == m.signer && now < a.renewAt {
		token = a.token
	}
	m.cache.mu.Unlock()
	if token == "" {
		serveAnswer(m, rw, req, ans)
		return
	}
	if m.policy != nil {
		if v := decide(m.policy, ans, now); v != verdictPass {
			m.refuse(rw, req, v)
			return
		}
	}
	applyIdentity(req.Header, ans)
	req.Header[assertionHeader] = []string{token}
	m.next.ServeHTTP(rw, req)
}

// serveAnswer applies the middleware's policy to an answer (at the time of
// the request: maxAuthAge is judged on every hit), and passes the request on
// with the answer's identity, and its signed assertion for a valid session,
// or refuses it.
func serveAnswer(m *Middleware, rw http.ResponseWriter, req *http.Request, ans *answer) {
	if m.policy != nil {
		if v := decide(m.policy, ans, time.Now().UnixNano()); v != verdictPass {
			m.refuse(rw, req, v)
			return
		}
	}
	applyIdentity(req.Header, ans)
	if m.signer != nil && ans.valid && ans.userID != "" {
		if token := assertionFor(m, ans); token != "" {
			req.Header[assertionHeader] = []string{token}
		}
	}
	m.next.ServeHTTP(rw, req)
}

// serveNotFresh serves a request whose cached answer e (nil for none) is
// not a fresh one without cookies to forward; it is called with
// m.cache.mu held, and releases it. An answer past cacheTTL whose refresh
// is already under way is served as a hit is (join would serve it so, after
// parsing the credentials again); the rest goes to serveResolved.
func serveNotFresh(m *Middleware, rw http.ResponseWriter, req *http.Request, key string, e *entry) {
	c := m.cache
	if e == nil || len(e.ans.cookies) > 0 || !servesStale(c, key, e, time.Now().UnixNano()) {
		c.mu.Unlock()
		serveResolved(m, rw, req)
		return
	}
	m.served.revalidated++
	if !m.plain {
		serveHeld(m, rw, req, e.ans, time.Now().UnixNano())
		return
	}
	c.mu.Unlock()
	applyIdentity(req.Header, e.ans)
	m.next.ServeHTTP(rw, req)
}

// schemeScopedKey is key scoped to the resolver scheme the request is sent
// with (a bare resolverHost).
func schemeScopedKey(m *Middleware, req *http.Request, key string) string {
	return scopedKey(key, resolverScheme(req, m.settings))
}

// serveOwnPath answers the webhook and metrics paths, and reports whether
// the request was for one of them.
func serveOwnPath(m *Middleware, rw http.ResponseWriter, req *http.Request) bool {
	s := m.settings
	switch {
	case s.webhookPath != "" && req.URL.Path == s.webhookPath:
		serveWebhook(m, rw, req)
	case s.metricsPath != "" && req.URL.Path == s.metricsPath:
		serveMetrics(m, rw, req)
	case s.jwksPath != "" && req.URL.Path == s.jwksPath:
		serveJWKS(rw, req)
	default:
		return false
	}
	return true
}

// serveWithoutCredentials passes on, or refuses, a request that carries no
// Authgear credential.
func serveWithoutCredentials(m *Middleware, rw http.ResponseWriter, req *http.Request) {
	if m.policy != nil && !isPreflight(req) {
		m.refuse(rw, req, verdictNoSession)
		return
	}
	m.metrics.anonymous.Add(1)
	m.next.ServeHTTP(rw, req)
}

// serveResolved handles a request whose credentials missed the cache, or
// whose cached answer needs more than headers: cookies to forward or a
// refusal. A request with credentials is never a CORS preflight: the policy
// applies to it in full.
func serveResolved(m *Middleware, rw http.ResponseWriter, req *http.Request) {
	ans, status := identify(m, req)
	if status != 0 {
		writeResolverFailure(rw, status)
		return
	}
	if ans == nil { // the resolver failed and onResolverError is anonymous
		m.metrics.failedAnonymous.Add(1)
		if m.policy != nil {
			m.refuse(rw, req, verdictNoSession)
			return
		}
		m.next.ServeHTTP(rw, req)
		return
	}
	if len(ans.cookies) > 0 && m.settings.forwardCookies {
		addSetCookies(rw.Header(), ans.cookies)
	}
	if !m.plain {
		serveAnswer(m, rw, req, ans)
		return
	}
	applyIdentity(req.Header, ans)
	m.next.ServeHTTP(rw, req)
}

// isPreflight reports whether a request without credentials is a CORS
// preflight, which browsers send without credentials and which must not be
// refused: OPTIONS with Origin and Access-Control-Request-Method, and no
// body (a client can write those headers on anything; only a bodiless
// OPTIONS is harmless to let through).
func isPreflight(req *http.Request) bool {
	return req.Method == http.MethodOptions &&
		req.ContentLength == 0 && len(req.TransferEncoding) == 0 &&
		req.Header.Get("Origin") != "" &&
		req.Header.Get("Access-Control-Request-Method") != ""
}

// addSetCookies adds the resolver's Set-Cookie values to the response.
func addSetCookies(h http.Header, cookies []string) {
	h["Set-Cookie"] = append(h["Set-Cookie"], cookies...)
}
