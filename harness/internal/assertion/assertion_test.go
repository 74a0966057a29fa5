package assertion_test

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/traefik-authgear/traefik-authgear/harness/internal/assertion"
)

const (
	issuer   = "https://edge.example.test"
	audience = "https://api.example.test"
	userID   = "7b0f6c42-1a6e-4d0e-9c53-2c1f0f6f5b1e"
)

// t0 is the tests' "now".
var t0 = time.Unix(1795920700, 0)

// jwksServer serves the public halves of its keys as jwksPath does and
// counts the fetches.
type jwksServer struct {
	*httptest.Server
	fetches atomic.Int64
	mu      sync.Mutex
	keys    []jose.JSONWebKey
}

func newJWKSServer(t *testing.T, keys ...*ecdsa.PrivateKey) *jwksServer {
	t.Helper()
	s := &jwksServer{}
	s.publish(keys...)
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		s.fetches.Add(1)
		s.mu.Lock()
		defer s.mu.Unlock()
		w.Header().Set("Content-Type", "application/jwk-set+json")
		_ = json.NewEncoder(w).Encode(jose.JSONWebKeySet{Keys: s.keys})
	}))
	t.Cleanup(s.Close)
	return s
}

// publish replaces the served keys by keys' public halves under their
// thumbprints.
func (s *jwksServer) publish(keys ...*ecdsa.PrivateKey) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.keys = nil
	for _, k := range keys {
		s.keys = append(s.keys, jose.JSONWebKey{Key: &k.PublicKey, KeyID: kidOf(k), Algorithm: string(jose.ES256), Use: "sig"})
	}
}

// kidOf is a key's RFC 7638 thumbprint, as the plugin names its keys.
func kidOf(k *ecdsa.PrivateKey) string {
	sum, err := (&jose.JSONWebKey{Key: &k.PublicKey}).Thumbprint(crypto.SHA256)
	if err != nil {
		panic(err)
	}
	return base64.RawURLEncoding.EncodeToString(sum)
}

func newKey(t *testing.T) *ecdsa.PrivateKey {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// claims are an assertion's claims as the plugin mints them at t0, for
// alice of testdata/users.json.
func claims() map[string]any {
	return map[string]any{
		"iss": issuer, "aud": audience, "sub": userID,
		"iat": t0.Unix(), "nbf": t0.Unix(), "exp": t0.Add(6 * time.Minute).Unix(),
		"https://authgear.com/claims/user/is_anonymous":       false,
		"https://authgear.com/claims/user/is_verified":        true,
		"https://authgear.com/claims/user/can_reauthenticate": true,
		"https://authgear.com/claims/user/roles":              []string{"admin", "editor"},
		"auth_time":                                           int64(1795920688),
		"amr":                                                 []string{"pwd", "otp"},
	}
}

// with returns claims() with changes (a nil value deletes the claim).
func with(changes map[string]any) map[string]any {
	c := claims()
	for k, v := range changes {
		if v == nil {
			delete(c, k)
			continue
		}
		c[k] = v
	}
	return c
}

// sign signs claims with key under kid with alg.
func sign(t *testing.T, alg jose.SignatureAlgorithm, key any, kid string, c map[string]any) string {
	t.Helper()
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: alg, Key: jose.JSONWebKey{Key: key, KeyID: kid}},
		(&jose.SignerOptions{}).WithType("JWT"))
	if err != nil {
		t.Fatal(err)
	}
	token, err := jwt.Signed(signer).Claims(c).Serialize()
	if err != nil {
		t.Fatal(err)
	}
	return token
}

// newVerifier verifies against s at the clock *now.
func newVerifier(s *jwksServer, now *time.Time) *assertion.Verifier {
	return assertion.NewVerifier(assertion.Config{
		JWKSURL: s.URL + "/.well-known/authgear-jwks.json", Issuer: issuer, Audience: audience,
		Now: func() time.Time { return *now },
	})
}

// request carries tokens in the assertion header.
func request(tokens ...string) *http.Request {
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	for _, tok := range tokens {
		r.Header.Add(assertion.Header, tok)
	}
	return r
}

// TestVerify: the plugin's assertion verifies and yields its claims; each
// thing a backend must refuse is refused, with a reason that names it.
func TestVerify(t *testing.T) {
	key, stranger := newKey(t), newKey(t)
	kid := kidOf(key)
	s := newJWKSServer(t, key)
	now := t0
	v := newVerifier(s, &now)
	good := sign(t, jose.ES256, key, kid, claims())
	parts := strings.Split(good, ".")
	tampered := parts[0] + "." + base64.RawURLEncoding.EncodeToString([]byte(`{"sub":"admin"}`)) + "." + parts[2]
	for _, tc := range []struct {
		name   string
		req    *http.Request
		at     time.Duration // after t0
		status string
		reason string // a part of the reason
	}{
		{name: "the plugin's", req: request(good), status: assertion.StatusVerified},
		{name: "expired within the leeway", req: request(good), at: 6*time.Minute + 20*time.Second, status: assertion.StatusVerified},
		{name: "none", req: request(), status: assertion.StatusAbsent, reason: "no valid session"},
		{name: "two", req: request(good, good), status: assertion.StatusRejected, reason: "2 X-Authgear-Jwt-Assertion headers"},
		{name: "not a JWT", req: request("forged"), status: assertion.StatusRejected, reason: "not an ES256 JWT"},
		{name: "HS256", req: request(sign(t, jose.HS256, []byte(strings.Repeat("k", 32)), kid, claims())), status: assertion.StatusRejected, reason: "not an ES256 JWT"},
		{name: "no kid", req: request(sign(t, jose.ES256, key, "", claims())), status: assertion.StatusRejected, reason: "no kid"},
		{name: "unknown kid", req: request(sign(t, jose.ES256, stranger, kidOf(stranger), claims())), status: assertion.StatusRejected, reason: "no key with kid"},
		{name: "another key under the kid", req: request(sign(t, jose.ES256, stranger, kid, claims())), status: assertion.StatusRejected, reason: "signature does not verify"},
		{name: "tampered", req: request(tampered), status: assertion.StatusRejected, reason: "signature does not verify"},
		{name: "another issuer", req: request(sign(t, jose.ES256, key, kid, with(map[string]any{"iss": "evil"}))), status: assertion.StatusRejected, reason: "jwtAssertionIssuer"},
		{name: "another audience", req: request(sign(t, jose.ES256, key, kid, with(map[string]any{"aud": "https://reports.example.test"}))), status: assertion.StatusRejected, reason: "minted for another middleware"},
		{name: "expired", req: request(good), at: 6*time.Minute + 31*time.Second, status: assertion.StatusRejected, reason: "expired at"},
		{name: "not yet valid", req: request(good), at: -31 * time.Second, status: assertion.StatusRejected, reason: "not valid before"},
		{name: "no exp", req: request(sign(t, jose.ES256, key, kid, with(map[string]any{"exp": nil}))), status: assertion.StatusRejected, reason: "lacks sub or exp"},
		{name: "no sub", req: request(sign(t, jose.ES256, key, kid, with(map[string]any{"sub": nil}))), status: assertion.StatusRejected, reason: "lacks sub or exp"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			now = t0.Add(tc.at)
			got := v.Verify(tc.req)
			if got.Status != tc.status || !strings.Contains(got.Reason, tc.reason) || (got.Claims != nil) != (tc.status == assertion.StatusVerified) {
				t.Errorf("Verify = %+v, want %s with a reason containing %q", got, tc.status, tc.reason)
			}
		})
	}
}

// TestVerifiedClaims: a backend reads the identity from the verified
// token, and the one-line summary shows it.
func TestVerifiedClaims(t *testing.T) {
	key := newKey(t)
	now := t0
	got := newVerifier(newJWKSServer(t, key), &now).VerifyToken(sign(t, jose.ES256, key, kidOf(key), claims()))
	want := &assertion.Claims{
		Issuer: issuer, Audience: []string{audience}, Subject: userID, Roles: []string{"admin", "editor"},
		IsVerified: true, CanReauthenticate: true, AMR: []string{"pwd", "otp"}, AuthTime: 1795920688,
		IssuedAt: t0.Unix(), NotBefore: t0.Unix(), Expiry: t0.Add(6 * time.Minute).Unix(),
	}
	if got.KeyID != kidOf(key) || !reflect.DeepEqual(got.Claims, want) {
		t.Errorf("VerifyToken = %+v, %+v\nwant kid %s, %+v", got, got.Claims, kidOf(key), want)
	}
	const summary = "verified; sub=" + userID + "; roles=admin,editor; is_verified=true; amr=pwd,otp; auth_time=1795920688; exp=1795921060"
	if s := got.Summary(); s != summary {
		t.Errorf("Summary = %q\nwant      %q", s, summary)
	}
}

// TestJWKSCache: the JWKS is fetched once while fresh, again when stale,
// again on an unknown kid (a rotation) but at most once per MinRefetch, and
// a JWKS that cannot be fetched rejects with the reason.
func TestJWKSCache(t *testing.T) {
	old, rotated := newKey(t), newKey(t)
	s := newJWKSServer(t, old)
	now := t0
	v := newVerifier(s, &now)
	long := func() map[string]any { return with(map[string]any{"exp": t0.Add(time.Hour).Unix()}) }
	byOld := sign(t, jose.ES256, old, kidOf(old), long())
	byRotated := sign(t, jose.ES256, rotated, kidOf(rotated), long())
	byStranger := sign(t, jose.ES256, newKey(t), "stranger", long())
	lastFetch := time.Minute + assertion.DefaultMinRefetch
	for _, step := range []struct {
		name    string
		at      time.Duration
		publish []*ecdsa.PrivateKey // nil: unchanged
		token   string
		status  string
		fetches int64 // in all, after the step
	}{
		{name: "first use fetches", token: byOld, status: assertion.StatusVerified, fetches: 1},
		{name: "then cached", at: time.Minute, token: byOld, status: assertion.StatusVerified, fetches: 1},
		{name: "rotated, unknown kid fetches again", at: time.Minute, publish: []*ecdsa.PrivateKey{old, rotated}, token: byRotated, status: assertion.StatusVerified, fetches: 2},
		{name: "an unknown kid right after a fetch does not", at: time.Minute + time.Second, token: byStranger, status: assertion.StatusRejected, fetches: 2},
		{name: "an unknown kid after MinRefetch does", at: lastFetch, token: byStranger, status: assertion.StatusRejected, fetches: 3},
		{name: "a removed key stays trusted until CacheFor", at: lastFetch + assertion.DefaultCacheFor - time.Second, publish: []*ecdsa.PrivateKey{rotated}, token: byOld, status: assertion.StatusVerified, fetches: 3},
		{name: "stale after CacheFor", at: lastFetch + assertion.DefaultCacheFor, token: byOld, status: assertion.StatusRejected, fetches: 4},
	} {
		if step.publish != nil {
			s.publish(step.publish...)
		}
		now = t0.Add(step.at)
		got := v.VerifyToken(step.token)
		if got.Status != step.status || s.fetches.Load() != step.fetches {
			t.Errorf("%s: %+v after %d fetches, want %s after %d", step.name, got, s.fetches.Load(), step.status, step.fetches)
		}
	}
	s.Close()
	now = now.Add(assertion.DefaultCacheFor)
	if got := v.VerifyToken(byRotated); got.Status != assertion.StatusRejected || !strings.Contains(got.Reason, "cannot fetch the JWKS") {
		t.Errorf("JWKS down: %+v, want rejected: cannot fetch the JWKS", got)
	}
}
