//go:build e2e

package e2e

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/traefik-authgear/traefik-authgear/harness/internal/stack"
)

// The signing middlewares of the assertion tests: "signed" and "reports"
// sign with one key file for one Authgear app, each for its own audience.
const (
	assertionIssuer   = "https://edge.example.test"
	assertionAudience = "https://api.example.test"
	reportsAudience   = "https://reports.example.test"
	assertionJWKSPath = "/.well-known/authgear-jwks.json"
	// assertionLifetime is jwtAssertionLifetime; the revalidation window
	// (cacheTTL + staleWhileRevalidate) is longer, so exp is iat plus it
	// plus the plugin's 60 s leeway.
	assertionLifetime = 2 * time.Minute
	assertionLeeway   = 60 * time.Second
)

// claimRoles is Authgear's roles claim, as the assertion carries it.
const claimRoles = "https://authgear.com/claims/user/roles"

// assertionHeader is the request header that carries the assertion.
const assertionHeader = "X-Authgear-Jwt-Assertion"

// errUnknownKey is what a backend answers an assertion whose kid its JWKS
// does not list.
var errUnknownKey = errors.New("no key in the JWKS with the assertion's kid")

// assertionClaims are the claims a backend reads, each a pointer so that a
// missing one shows.
type assertionClaims struct {
	jwt.Claims
	IsAnonymous       *bool     `json:"https://authgear.com/claims/user/is_anonymous"`
	IsVerified        *bool     `json:"https://authgear.com/claims/user/is_verified"`
	CanReauthenticate *bool     `json:"https://authgear.com/claims/user/can_reauthenticate"`
	Roles             *[]string `json:"https://authgear.com/claims/user/roles"`
	AuthTime          *int64    `json:"auth_time"`
	AMR               *[]string `json:"amr"`
}

// verifyAssertion checks a token as a backend would with go-jose: ES256
// only, the key the JWKS lists under its kid, the signature, then iss, aud
// and the times (exp, nbf, iat) at now without leeway: the plugin's own
// leeway is in exp.
func verifyAssertion(token string, keys *jose.JSONWebKeySet, audience string, now time.Time) (*assertionClaims, error) {
	tok, err := jwt.ParseSigned(token, []jose.SignatureAlgorithm{jose.ES256})
	if err != nil {
		return nil, err
	}
	found := keys.Key(tok.Headers[0].KeyID)
	if len(found) != 1 {
		return nil, errUnknownKey
	}
	var claims assertionClaims
	if err := tok.Claims(found[0].Key, &claims); err != nil {
		return nil, err
	}
	expected := jwt.Expected{Issuer: assertionIssuer, AnyAudience: jwt.Audience{audience}, Time: now}
	return &claims, claims.ValidateWithLeeway(expected, 0)
}

// assertionFixture is a running stack with the signing middlewares, the
// key of their key file and the JWKS fetched through Traefik.
type assertionFixture struct {
	s    *stack.Stack
	key  *ecdsa.PrivateKey
	kid  string // the key's RFC 7638 thumbprint
	jwks *jose.JSONWebKeySet
}

// startAssertionStack writes a P-256 key file, starts Traefik with "signed"
// and "reports" (each at /<name>/, "signed" also answering jwksPath), and
// fetches the JWKS through Traefik.
func startAssertionStack(t *testing.T) *assertionFixture {
	t.Helper()
	key, keyFile := writeKeyFile(t)
	signing := func(audience string) map[string]any {
		return map[string]any{
			"jwtAssertion": true, "jwtAssertionKeyFile": keyFile, "jwtAssertionIssuer": assertionIssuer,
			"jwtAssertionAudience": audience, "jwtAssertionLifetime": assertionLifetime.String(),
			"jwksPath": assertionJWKSPath, "cacheTTL": "1m", "staleWhileRevalidate": "10m",
		}
	}
	mws := []stack.Middleware{
		{Name: "signed", Options: signing(assertionAudience)},
		{Name: "reports", Options: signing(reportsAudience)},
	}
	routes := append(stack.DefaultRoutes(mws), routed("signed", "/.well-known/")...)
	f := &assertionFixture{s: startT(t, stack.Options{Middlewares: mws, Routes: routes}), key: key}
	jwk := jose.JSONWebKey{Key: &key.PublicKey}
	sum, err := jwk.Thumbprint(crypto.SHA256)
	if err != nil {
		t.Fatal(err)
	}
	f.kid = base64.RawURLEncoding.EncodeToString(sum)
	f.jwks = fetchJWKS(t, f.s)
	return f
}

// writeKeyFile writes a new P-256 key as PKCS#8 PEM to a file of the test's.
func writeKeyFile(t *testing.T) (*ecdsa.PrivateKey, string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "assertion-key.pem")
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	return key, path
}

// fetchJWKS gets jwksPath through Traefik as a backend would and decodes it
// with go-jose.
func fetchJWKS(t *testing.T, s *stack.Stack) *jose.JSONWebKeySet {
	t.Helper()
	got := get(t, s, assertionJWKSPath).wantStatus(t, http.StatusOK)
	if ct := got.header.Get("Content-Type"); ct != "application/jwk-set+json" {
		t.Errorf("JWKS Content-Type %q, want application/jwk-set+json", ct)
	}
	var set jose.JSONWebKeySet
	if err := json.Unmarshal([]byte(got.body), &set); err != nil {
		t.Fatalf("JWKS %q does not decode with go-jose: %v", got.body, err)
	}
	return &set
}

// assertionOf returns the assertions the backend received, under any
// spelling of the header's name (a CGI-style backend reads "_" as "-").
func assertionOf(t *testing.T, r reply) []string {
	t.Helper()
	if r.echo == nil {
		t.Fatalf("the backend was not reached: %d %q", r.status, r.body)
	}
	var out []string
	for name, values := range r.echo.Headers {
		if strings.EqualFold(strings.ReplaceAll(name, "_", "-"), assertionHeader) {
			out = append(out, values...)
		}
	}
	return out
}

// oneAssertion returns the one assertion the backend received.
func oneAssertion(t *testing.T, r reply) string {
	t.Helper()
	got := assertionOf(t, r)
	if len(got) != 1 {
		t.Fatalf("the backend received %d assertions %q, want one", len(got), got)
	}
	return got[0]
}

// TestJWTAssertionInTraefik: through a real Traefik, a backend that
// verifies the assertion with go-jose against the JWKS at jwksPath accepts
// the plugin's and reads the identity from it; it rejects a forgery, a
// tampered one, an expired one and one for another audience; and only the
// plugin's assertion ever reaches it.
func TestJWTAssertionInTraefik(t *testing.T) {
	f := startAssertionStack(t)
	t.Run("JWKS", f.testJWKS)
	t.Run("verified claims", f.testVerifiedClaims)
	t.Run("rejected", f.testRejected)
	t.Run("only the plugin's", f.testOnlyThePlugins)
}

// testJWKS: the JWKS lists the key file's public key under its thumbprint,
// for ES256 signatures, and nothing private.
func (f *assertionFixture) testJWKS(t *testing.T) {
	if len(f.jwks.Keys) != 1 {
		t.Fatalf("JWKS lists %d keys, want the key file's one", len(f.jwks.Keys))
	}
	k := f.jwks.Keys[0]
	pub, ok := k.Key.(*ecdsa.PublicKey)
	switch {
	case k.KeyID != f.kid:
		t.Errorf("JWKS kid %q, want the RFC 7638 thumbprint %q", k.KeyID, f.kid)
	case !ok || !k.IsPublic() || !pub.Equal(&f.key.PublicKey):
		t.Errorf("JWKS key %T (public: %v), want the key file's public key", k.Key, k.IsPublic())
	case k.Algorithm != string(jose.ES256) || k.Use != "sig":
		t.Errorf("JWKS key alg %q use %q, want ES256 and sig", k.Algorithm, k.Use)
	}
}

// testVerifiedClaims: for each kind of user and credential, the assertion
// verifies and its claims are the user's identity, with the configured
// issuer, audience and lifetime.
func (f *assertionFixture) testVerifiedClaims(t *testing.T) {
	for _, tc := range []struct {
		user    string
		headers []string
	}{
		{"alice", cookie("alice")},
		{"bob", []string{"Authorization", "Bearer bob-token"}},
		{"carol", cookie("carol")},
		{"anon", cookie("anon")},
	} {
		t.Run(tc.user, func(t *testing.T) {
			before := time.Now().Truncate(time.Second)
			got := get(t, f.s, "/signed/x", tc.headers...).wantStatus(t, http.StatusOK)
			token := oneAssertion(t, got)
			claims, err := verifyAssertion(token, f.jwks, assertionAudience, time.Now())
			if err != nil {
				t.Fatalf("a backend rejects the plugin's assertion: %v\n%s", err, token)
			}
			f.checkHeader(t, token)
			checkIdentityClaims(t, claims, tc.user)
			checkTimes(t, claims, before, time.Now())
			if id := got.echo.Headers["X-Authgear-User-Id"]; len(id) != 1 || id[0] != claims.Subject {
				t.Errorf("X-Authgear-User-Id %v, sub %q: want the same user", id, claims.Subject)
			}
		})
	}
}

// checkHeader wants the JOSE header {"alg":"ES256","typ":"JWT","kid":<the key's thumbprint>}.
func (f *assertionFixture) checkHeader(t *testing.T, token string) {
	t.Helper()
	tok, err := jwt.ParseSigned(token, []jose.SignatureAlgorithm{jose.ES256})
	if err != nil {
		t.Fatal(err)
	}
	h := tok.Headers[0]
	if typ := h.ExtraHeaders[jose.HeaderType]; h.Algorithm != string(jose.ES256) || typ != "JWT" || h.KeyID != f.kid {
		t.Errorf("header alg %q typ %v kid %q, want ES256, JWT, %q", h.Algorithm, typ, h.KeyID, f.kid)
	}
}

// checkIdentityClaims wants the user's identity from testdata/users.json:
// roles always present, amr left out when empty.
func checkIdentityClaims(t *testing.T, c *assertionClaims, user string) {
	t.Helper()
	u := users[user]
	wantRoles, wantAMR := any(u.Roles), any(strings.Fields(u.AMR))
	if u.Roles == nil {
		wantRoles = []string{} // present even when empty, as in Authgear's tokens
	}
	if u.AMR == "" {
		wantAMR = "<missing>" // left out when empty
	}
	got := fmt.Sprintf("sub=%s anonymous=%v verified=%v reauth=%v roles=%v auth_time=%v amr=%v",
		c.Subject, deref(c.IsAnonymous), deref(c.IsVerified), deref(c.CanReauthenticate), deref(c.Roles), deref(c.AuthTime), deref(c.AMR))
	want := fmt.Sprintf("sub=%s anonymous=%v verified=%v reauth=%v roles=%v auth_time=%v amr=%v",
		u.ID, u.Anonymous, u.Verified, !u.Anonymous, wantRoles, u.AuthenticatedAt, wantAMR)
	if got != want {
		t.Errorf("claims %s\nwant   %s", got, want)
	}
	if c.Roles == nil || c.IsAnonymous == nil || c.IsVerified == nil || c.CanReauthenticate == nil {
		t.Errorf("an Authgear claim is missing: roles %v, is_anonymous %v, is_verified %v, can_reauthenticate %v",
			c.Roles, c.IsAnonymous, c.IsVerified, c.CanReauthenticate)
	}
}

// deref renders a claim that may be missing.
func deref[T any](p *T) any {
	if p == nil {
		return "<missing>"
	}
	return *p
}

// checkTimes wants iat = nbf within [before, after], and exp the lifetime
// plus the leeway after iat.
func checkTimes(t *testing.T, c *assertionClaims, before, after time.Time) {
	t.Helper()
	if c.IssuedAt == nil || c.NotBefore == nil || c.Expiry == nil {
		t.Fatalf("iat %v, nbf %v, exp %v: want all three", c.IssuedAt, c.NotBefore, c.Expiry)
	}
	iat, nbf, exp := c.IssuedAt.Time(), c.NotBefore.Time(), c.Expiry.Time()
	if iat.Before(before) || iat.After(after) || !nbf.Equal(iat) {
		t.Errorf("iat %s, nbf %s: want both the time of the request (%s to %s)", iat, nbf, before, after)
	}
	if d := exp.Sub(iat); d != assertionLifetime+assertionLeeway {
		t.Errorf("exp is iat + %s, want + %s (jwtAssertionLifetime and the leeway)", d, assertionLifetime+assertionLeeway)
	}
}

// rawClaims decodes a token's payload without verifying it, numbers as
// int64.
func rawClaims(t *testing.T, token string) map[string]any {
	t.Helper()
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		t.Fatalf("%q is not a compact JWS", token)
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	m := map[string]any{}
	d := json.NewDecoder(bytes.NewReader(payload))
	d.UseNumber()
	if err := d.Decode(&m); err != nil {
		t.Fatal(err)
	}
	for k, v := range m { // auth_time and the times stay integers when signed again
		if n, ok := v.(json.Number); ok {
			if m[k], err = n.Int64(); err != nil {
				t.Fatalf("claim %s = %s, want an integer", k, n)
			}
		}
	}
	return m
}

// testRejected: what a backend must reject, each beside a control that
// differs in that one thing and verifies.
func (f *assertionFixture) testRejected(t *testing.T) {
	alice := oneAssertion(t, get(t, f.s, "/signed/x", cookie("alice")...).wantStatus(t, http.StatusOK))
	forReports := oneAssertion(t, get(t, f.s, "/reports/x", cookie("alice")...).wantStatus(t, http.StatusOK))
	claims := rawClaims(t, alice)
	stranger, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	at := func(iat, exp time.Time) map[string]any {
		c := map[string]any{}
		for k, v := range claims {
			c[k] = v
		}
		c["iat"], c["nbf"], c["exp"] = iat.Unix(), iat.Unix(), exp.Unix()
		return c
	}
	for _, tc := range []struct {
		name     string
		token    string
		audience string // the backend's; default assertionAudience
		want     error  // nil: verifies
	}{
		{name: "the plugin's", token: alice},
		{name: "re-signed with the key file's key (control)", token: signClaims(t, f.key, f.kid, claims)},
		{name: "signed by another key under the same kid", token: signClaims(t, stranger, f.kid, claims), want: jose.ErrCryptoFailure},
		{name: "signed by another key under its own kid", token: signClaims(t, stranger, "stranger", claims), want: errUnknownKey},
		{name: "tampered roles", token: tamper(t, alice, claimRoles, []string{"admin", "editor", "owner"}), want: jose.ErrCryptoFailure},
		{name: "tampered subject", token: tamper(t, alice, "sub", users["bob"].ID), want: jose.ErrCryptoFailure},
		{name: "expired, key file's key", token: signClaims(t, f.key, f.kid, at(now.Add(-10*time.Minute), now.Add(-2*time.Minute))), want: jwt.ErrExpired},
		{name: "not yet valid, key file's key", token: signClaims(t, f.key, f.kid, at(now.Add(2*time.Minute), now.Add(5*time.Minute))), want: jwt.ErrNotValidYet},
		{name: "another middleware's audience", token: forReports, want: jwt.ErrInvalidAudience},
		{name: "another middleware's, at its own audience (control)", token: forReports, audience: reportsAudience},
	} {
		t.Run(tc.name, func(t *testing.T) {
			audience := tc.audience
			if audience == "" {
				audience = assertionAudience
			}
			_, err := verifyAssertion(tc.token, f.jwks, audience, time.Now())
			if !errors.Is(err, tc.want) {
				t.Errorf("verification: %v, want %v", err, tc.want)
			}
		})
	}
}

// signClaims signs claims with go-jose as ES256 under kid, typ JWT.
func signClaims(t *testing.T, key *ecdsa.PrivateKey, kid string, claims map[string]any) string {
	t.Helper()
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: jose.JSONWebKey{Key: key, KeyID: kid}},
		(&jose.SignerOptions{}).WithType("JWT"))
	if err != nil {
		t.Fatal(err)
	}
	token, err := jwt.Signed(signer).Claims(claims).Serialize()
	if err != nil {
		t.Fatal(err)
	}
	return token
}

// tamper sets one claim of a token's payload, keeping its header and signature.
func tamper(t *testing.T, token, claim string, value any) string {
	t.Helper()
	c := rawClaims(t, token)
	c[claim] = value
	payload, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	parts := strings.Split(token, ".")
	return parts[0] + "." + base64.RawURLEncoding.EncodeToString(payload) + "." + parts[2]
}

// testOnlyThePlugins: a request without a valid session reaches the backend
// without an assertion, whatever the client sent under the header's name in
// any spelling; with a session, the backend gets the plugin's one alone.
// The control row shows that without the middleware the client's headers do
// reach the backend, in both spellings.
func (f *assertionFixture) testOnlyThePlugins(t *testing.T) {
	stranger, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	forged := signClaims(t, stranger, f.kid, map[string]any{"iss": assertionIssuer, "aud": assertionAudience, "sub": users["alice"].ID})
	bothSpellings := []string{assertionHeader, forged, "X_Authgear_Jwt_Assertion", forged}
	for _, tc := range []struct {
		name    string
		path    string // default /signed/x
		headers []string
		user    string // whose assertion alone the backend gets; "" none
		forged  int    // copies of the forged one the backend gets
	}{
		{name: "no credential"},
		{name: "unknown session", headers: []string{"Cookie", "session=stale-assertion"}},
		{name: "forged, no credential", headers: []string{assertionHeader, forged}},
		{name: "forged with an underscore, no credential", headers: []string{"X-Authgear-Jwt_Assertion", forged}},
		{name: "forged, unknown session", headers: append([]string{"Cookie", "session=stale-assertion"}, bothSpellings...)},
		{name: "forged, alice", headers: append(cookie("alice"), bothSpellings...), user: "alice"},
		{name: "control: forged, no middleware", path: stack.PlainRoute + "x", headers: append(cookie("alice"), bothSpellings...), forged: 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := tc.path
			if path == "" {
				path = "/signed/x"
			}
			tokens := assertionOf(t, get(t, f.s, path, tc.headers...).wantStatus(t, http.StatusOK))
			want := slices.Repeat([]string{forged}, tc.forged)
			if tc.user == "" {
				if !slices.Equal(tokens, want) {
					t.Fatalf("the backend received assertions %q, want %q", tokens, want)
				}
				return
			}
			if len(tokens) != 1 || tokens[0] == forged {
				t.Fatalf("the backend received %q, want the plugin's alone (not the forged %q)", tokens, forged)
			}
			claims, err := verifyAssertion(tokens[0], f.jwks, assertionAudience, time.Now())
			if err != nil || claims.Subject != users[tc.user].ID {
				t.Errorf("the backend's assertion: %v, %v; want %s's, verified", claims, err, tc.user)
			}
		})
	}
}
