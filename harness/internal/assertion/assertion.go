// Package assertion verifies the plugin's X-Authgear-Jwt-Assertion the way
// a real backend should (docs/signed-identity.md, "What the backend
// checks"), with github.com/go-jose/go-jose/v4: the public keys come from
// the middleware's jwksPath and are cached, the signature is checked with
// the key the token's kid names (ES256 only), then iss, aud, exp and nbf.
// The demo's echo backend uses it to show a newcomer what a backend gains
// from the signed identity: claims it can trust even if a request reaches
// it around Traefik.
package assertion

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

// Header is the request header that carries the assertion.
const Header = "X-Authgear-Jwt-Assertion"

// The outcomes of Verify.
const (
	// StatusVerified: one assertion that passed every check.
	StatusVerified = "verified"
	// StatusRejected: an assertion a backend must not trust.
	StatusRejected = "rejected"
	// StatusAbsent: no assertion at all (no valid session, or a route whose
	// middleware does not sign).
	StatusAbsent = "absent"
)

// Defaults of Config.
const (
	// DefaultLeeway is the clock skew allowed on exp and nbf, as the doc
	// advises (30 to 60 s).
	DefaultLeeway = 30 * time.Second
	// DefaultCacheFor matches the Cache-Control max-age jwksPath answers.
	DefaultCacheFor = 5 * time.Minute
	// DefaultMinRefetch bounds how often an unknown kid fetches the JWKS
	// again, so that a flood of forged kids does not become a flood of
	// fetches.
	DefaultMinRefetch = 10 * time.Second
)

// maxJWKS is the largest JWKS body read: a few keys are a few hundred bytes.
const maxJWKS = 64 << 10

// Config says what the backend trusts.
type Config struct {
	// JWKSURL is the middleware's jwksPath as the backend reaches it
	// (through Traefik, as any client would).
	JWKSURL string
	// Issuer is the middlewares' jwtAssertionIssuer.
	Issuer string
	// Audience is this backend's jwtAssertionAudience.
	Audience string
	// Leeway is the clock skew allowed; default DefaultLeeway.
	Leeway time.Duration
	// CacheFor is how long fetched keys are trusted; default DefaultCacheFor.
	CacheFor time.Duration
	// MinRefetch is the least time between two fetches; default
	// DefaultMinRefetch.
	MinRefetch time.Duration
	// Client fetches the JWKS; default a client with a 5 s timeout.
	Client *http.Client
	// Now is the clock; default time.Now (tests move it).
	Now func() time.Time
}

// Verifier checks assertions against a cached JWKS. It is safe for
// concurrent use; one fetch runs at a time.
type Verifier struct {
	cfg Config

	mu      sync.Mutex // protects keys and fetched
	keys    *jose.JSONWebKeySet
	fetched time.Time // when keys were fetched; zero: never
}

// NewVerifier returns a Verifier for cfg with its defaults filled in.
func NewVerifier(cfg Config) *Verifier {
	if cfg.Leeway == 0 {
		cfg.Leeway = DefaultLeeway
	}
	if cfg.CacheFor == 0 {
		cfg.CacheFor = DefaultCacheFor
	}
	if cfg.MinRefetch == 0 {
		cfg.MinRefetch = DefaultMinRefetch
	}
	if cfg.Client == nil {
		cfg.Client = &http.Client{Timeout: 5 * time.Second}
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Verifier{cfg: cfg}
}

// Result is what the backend concluded about a request's assertion, as the
// echo backend shows it.
type Result struct {
	Status string `json:"status"`           // StatusVerified, StatusRejected or StatusAbsent
	Reason string `json:"reason,omitempty"` // why it was rejected or is absent
	KeyID  string `json:"kid,omitempty"`    // the kid of the token's header, when it had one
	// Claims are the verified claims; nil unless verified.
	Claims *Claims `json:"claims,omitempty"`
}

// Claims are the verified claims a backend reads, under short names: roles,
// is_verified, is_anonymous and can_reauthenticate are Authgear's
// https://authgear.com/claims/user/... claims.
type Claims struct {
	Issuer            string   `json:"iss"`
	Audience          []string `json:"aud"`
	Subject           string   `json:"sub"`
	Roles             []string `json:"roles"`
	IsVerified        bool     `json:"is_verified"`
	IsAnonymous       bool     `json:"is_anonymous"`
	CanReauthenticate bool     `json:"can_reauthenticate"`
	AMR               []string `json:"amr,omitempty"`       // left out of the token when empty
	AuthTime          int64    `json:"auth_time,omitempty"` // left out of the token when unknown
	IssuedAt          int64    `json:"iat"`
	NotBefore         int64    `json:"nbf"`
	Expiry            int64    `json:"exp"`
}

// authgearClaims are the token's Authgear claims under their real names.
type authgearClaims struct {
	IsAnonymous       bool     `json:"https://authgear.com/claims/user/is_anonymous"`
	IsVerified        bool     `json:"https://authgear.com/claims/user/is_verified"`
	CanReauthenticate bool     `json:"https://authgear.com/claims/user/can_reauthenticate"`
	Roles             []string `json:"https://authgear.com/claims/user/roles"`
	AuthTime          int64    `json:"auth_time"`
	AMR               []string `json:"amr"`
}

// Summary renders r on one line for a response header, e.g. "verified;
// sub=7b0f...; roles=admin,editor; is_verified=true; amr=pwd,otp;
// auth_time=1795920688; exp=1795921000", or "rejected: <reason>".
func (r Result) Summary() string {
	if r.Claims == nil {
		return strings.ReplaceAll(r.Status+": "+r.Reason, "\n", " ")
	}
	c := r.Claims
	return fmt.Sprintf("%s; sub=%s; roles=%s; is_verified=%t; amr=%s; auth_time=%d; exp=%d",
		r.Status, c.Subject, strings.Join(c.Roles, ","), c.IsVerified, strings.Join(c.AMR, ","), c.AuthTime, c.Expiry)
}

// Verify checks the one assertion a request should carry.
func (v *Verifier) Verify(r *http.Request) Result {
	tokens := r.Header.Values(Header)
	switch len(tokens) {
	case 0:
		return Result{Status: StatusAbsent, Reason: "no " + Header + " header: the request had no valid session, or its route's middleware does not sign (jwtAssertion)"}
	case 1:
		return v.VerifyToken(tokens[0])
	default:
		return rejected(fmt.Sprintf("%d %s headers, want one", len(tokens), Header))
	}
}

// VerifyToken checks one token: ES256 only, signed by the JWKS key its kid
// names, from Issuer to Audience, within its nbf and exp (with Leeway).
func (v *Verifier) VerifyToken(token string) Result {
	tok, err := jwt.ParseSigned(token, []jose.SignatureAlgorithm{jose.ES256})
	if err != nil {
		return rejected("not an ES256 JWT: " + err.Error())
	}
	kid := tok.Headers[0].KeyID
	if kid == "" {
		return rejected("the token's header has no kid")
	}
	key, err := v.key(kid)
	if err != nil {
		return Result{Status: StatusRejected, Reason: err.Error(), KeyID: kid}
	}
	var std jwt.Claims
	var extra authgearClaims
	if err := tok.Claims(key.Key, &std, &extra); err != nil {
		return Result{Status: StatusRejected, Reason: fmt.Sprintf("the signature does not verify with the JWKS key %q: %v", kid, err), KeyID: kid}
	}
	if reason := v.invalid(std); reason != "" {
		return Result{Status: StatusRejected, Reason: reason, KeyID: kid}
	}
	return Result{Status: StatusVerified, KeyID: kid, Claims: verifiedClaims(std, extra)}
}

// rejected is a rejection with reason.
func rejected(reason string) Result { return Result{Status: StatusRejected, Reason: reason} }

// invalid says why verified claims must still be refused ("" if they need
// not): a missing sub or exp, or iss, aud or the times.
func (v *Verifier) invalid(c jwt.Claims) string {
	if c.Subject == "" || c.Expiry == nil {
		return "the token lacks sub or exp"
	}
	err := c.ValidateWithLeeway(jwt.Expected{Issuer: v.cfg.Issuer, AnyAudience: jwt.Audience{v.cfg.Audience}, Time: v.cfg.Now()}, v.cfg.Leeway)
	switch {
	case err == nil:
		return ""
	case errors.Is(err, jwt.ErrInvalidIssuer):
		return fmt.Sprintf("iss %q is not %q (jwtAssertionIssuer)", c.Issuer, v.cfg.Issuer)
	case errors.Is(err, jwt.ErrInvalidAudience):
		return fmt.Sprintf("aud %q does not name this backend, %q (jwtAssertionAudience): it was minted for another middleware", []string(c.Audience), v.cfg.Audience)
	case errors.Is(err, jwt.ErrExpired):
		return "expired at " + c.Expiry.Time().UTC().Format(time.RFC3339)
	case errors.Is(err, jwt.ErrNotValidYet):
		return "not valid before " + c.NotBefore.Time().UTC().Format(time.RFC3339)
	default:
		return err.Error()
	}
}

// verifiedClaims gathers what a backend reads from a verified token.
func verifiedClaims(std jwt.Claims, extra authgearClaims) *Claims {
	c := &Claims{
		Issuer: std.Issuer, Audience: std.Audience, Subject: std.Subject,
		Roles: extra.Roles, IsVerified: extra.IsVerified, IsAnonymous: extra.IsAnonymous,
		CanReauthenticate: extra.CanReauthenticate, AMR: extra.AMR, AuthTime: extra.AuthTime,
		Expiry: int64(*std.Expiry),
	}
	if std.IssuedAt != nil {
		c.IssuedAt = int64(*std.IssuedAt)
	}
	if std.NotBefore != nil {
		c.NotBefore = int64(*std.NotBefore)
	}
	return c
}

// key returns the JWKS key under kid: from the cache while it is fresh,
// else fetched again, and fetched again on an unknown kid (a key rotation)
// at most once every MinRefetch.
func (v *Verifier) key(kid string) (jose.JSONWebKey, error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	now := v.cfg.Now()
	age := now.Sub(v.fetched)
	if v.keys == nil || age >= v.cfg.CacheFor || (len(v.keys.Key(kid)) == 0 && age >= v.cfg.MinRefetch) {
		keys, err := v.fetch()
		if err != nil {
			return jose.JSONWebKey{}, err
		}
		v.keys, v.fetched = keys, now
	}
	found := v.keys.Key(kid)
	if len(found) != 1 {
		return jose.JSONWebKey{}, fmt.Errorf("no key with kid %q in the JWKS at %s", kid, v.cfg.JWKSURL)
	}
	return found[0], nil
}

// fetch gets the JWKS.
func (v *Verifier) fetch() (*jose.JSONWebKeySet, error) {
	resp, err := v.cfg.Client.Get(v.cfg.JWKSURL)
	if err != nil {
		return nil, fmt.Errorf("cannot fetch the JWKS: %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxJWKS))
	if err != nil {
		return nil, fmt.Errorf("cannot fetch the JWKS at %s: %w", v.cfg.JWKSURL, err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("the JWKS at %s answered %s", v.cfg.JWKSURL, resp.Status)
	}
	var set jose.JSONWebKeySet
	if err := json.Unmarshal(body, &set); err != nil {
		return nil, fmt.Errorf("the JWKS at %s does not decode: %w", v.cfg.JWKSURL, err)
	}
	return &set, nil
}
