package authgear_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"math/big"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	authgear "github.com/traefik-authgear/traefik-authgear"
)

// The signed identity, checked as a backend would check it, with the
// standard library's ECDSA: never with the plugin's own code.

// newKey returns a P-256 key and its PKCS#8 PEM.
func newKey(t testing.TB) (*ecdsa.PrivateKey, string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return key, string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))
}

// kidOf is the RFC 7638 thumbprint of a P-256 key, computed here.
func kidOf(pub *ecdsa.PublicKey) string {
	enc := base64.RawURLEncoding
	x := make([]byte, 32)
	y := make([]byte, 32)
	pub.X.FillBytes(x)
	pub.Y.FillBytes(y)
	sum := sha256.Sum256([]byte(`{"crv":"P-256","kty":"EC","x":"` + enc.EncodeToString(x) + `","y":"` + enc.EncodeToString(y) + `"}`))
	return enc.EncodeToString(sum[:])
}

// verified checks a compact JWS's ES256 signature under pub and returns its
// header and claims; it fails the test on a bad token.
func verified(t testing.TB, token string, pub *ecdsa.PublicKey) (map[string]interface{}, map[string]interface{}) {
	t.Helper()
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		t.Fatalf("assertion %q is not a compact JWS", token)
	}
	enc := base64.RawURLEncoding
	sig, err := enc.DecodeString(parts[2])
	if err != nil || len(sig) != 64 {
		t.Fatalf("signature of %d bytes (%v), want 64: r||s", len(sig), err)
	}
	digest := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	if !ecdsa.Verify(pub, digest[:], new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:])) {
		t.Fatal("the assertion's signature does not verify under the configured key")
	}
	var header, claims map[string]interface{}
	for i, into := range []*map[string]interface{}{&header, &claims} {
		raw, err := enc.DecodeString(parts[i])
		if err != nil || json.Unmarshal(raw, into) != nil {
			t.Fatalf("part %d of the assertion is not base64url JSON", i)
		}
	}
	return header, claims
}

// withAssertion turns assertions on with the key's PEM inline.
func withAssertion(keyPEM string) func(*authgear.Config) {
	return func(c *authgear.Config) {
		c.JWTAssertion = true
		c.JWTAssertionKey = keyPEM
		c.JWTAssertionAudience = "https://api.example.test"
		c.JWTAssertionIssuer = "https://traefik.example.test"
	}
}

func TestTheAssertionIsSignedAndSaysWhatThePolicyAllowed(t *testing.T) {
	key, keyPEM := newKey(t)
	f, h, rec := newHandler(t, func(c *authgear.Config) { withAssertion(keyPEM)(c); c.CacheTTL = "1m"; c.StaleWhileRevalidate = "5m" })
	before := time.Now().Unix()
	_, s := do(h, rec, request{header: merge(bearer("erin"), map[string]string{"X-Authgear-Jwt-Assertion": "forged"})})
	assertUser(t, s, "erin")
	token := s.header.Get("X-Authgear-Jwt-Assertion")
	header, claims := verified(t, token, &key.PublicKey)
	if len(header) != 3 || header["alg"] != "ES256" || header["typ"] != "JWT" || header["kid"] != kidOf(&key.PublicKey) {
		t.Fatalf("header %v, want alg ES256, typ JWT and the key's RFC 7638 thumbprint as kid", header)
	}
	iat, _ := claims["iat"].(float64)
	nbf, _ := claims["nbf"].(float64)
	exp, _ := claims["exp"].(float64)
	authTime, _ := claims["auth_time"].(float64)
	if int64(iat) < before || int64(iat) > time.Now().Unix() || nbf != iat || exp != iat+300+60 {
		t.Fatalf("iat %v, nbf %v, exp %v: want iat now, nbf = iat, exp = iat + 5m lifetime + 60 s leeway", iat, nbf, exp)
	}
	if want := time.Now().Add(-time.Minute).Unix(); int64(authTime) < want-2 || int64(authTime) > want+2 {
		t.Fatalf("auth_time %v, want about %d", authTime, want)
	}
	for name, want := range map[string]string{
		"iss": `"https://traefik.example.test"`, "aud": `"https://api.example.test"`, "sub": `"id-erin"`,
		"https://authgear.com/claims/user/is_anonymous":       "false",
		"https://authgear.com/claims/user/is_verified":        "true",
		"https://authgear.com/claims/user/can_reauthenticate": "true",
		"https://authgear.com/claims/user/roles":              `["admin"]`,
		"amr":                                                 `["mfa","otp","pwd","x_primary_password","x_secondary_totp"]`,
	} {
		if got, _ := json.Marshal(claims[name]); string(got) != want {
			t.Errorf("claim %s = %s, want %s", name, got, want)
		}
	}
	if len(claims) != 12 {
		t.Errorf("claims %v: want exactly the 12 documented", claims)
	}
	// A hit sets the same assertion: minted per answer, not per request.
	_, again := do(h, rec, request{header: bearer("erin")})
	if again.header.Get("X-Authgear-Jwt-Assertion") != token || f.calls.Load() != 1 {
		t.Fatalf("a cache hit got another assertion (or made a call: %d)", f.calls.Load())
	}
}

func TestNoAssertionWithoutAValidSessionOrFromTheResolver(t *testing.T) {
	_, keyPEM := newKey(t)
	forged := map[string]string{"X-Authgear-Jwt-Assertion": "forged", "X-authgear-jwt_assertion": "forged"}
	for _, tt := range []struct {
		name   string
		edit   func(*authgear.Config)
		r      request
		status int
	}{
		{"no credential", withAssertion(keyPEM), request{header: forged}, 200},
		{"an invalid token", withAssertion(keyPEM), request{header: merge(forged, bearer("mallory"))}, 200},
		{"an unknown session", withAssertion(keyPEM), request{header: merge(forged, cookie("session", "nobody"))}, 200},
		{"assertions off: the client's copy is stripped all the same", nil, request{header: merge(forged, bearer("alice"))}, 200},
		{"assertions off: the resolver's copy is never copied", func(c *authgear.Config) {}, request{header: bearer("alice")}, 200},
		{"a refusal", func(c *authgear.Config) { withAssertion(keyPEM)(c); c.AllowedRoles = []string{"ops"} }, request{header: merge(forged, bearer("alice"))}, 403},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f, h, rec := newHandler(t, tt.edit)
			// The resolver's answer carries one too, in two spellings that a
			// CGI backend reads as the same variable.
			f.plant = []string{"X-Authgear-Jwt-Assertion", "X-Authgear-Jwt_assertion"}
			w, s := do(h, rec, tt.r)
			if w.Code != tt.status {
				t.Fatalf("status %d, want %d", w.Code, tt.status)
			}
			for name := range s.identity {
				if strings.Contains(name, "assertion") {
					t.Fatalf("the backend got %s: %v", name, s.identity)
				}
			}
		})
	}
}

// Two middlewares over one app share the cached answer, each with its own
// assertion (its own audience); a refreshed answer gets a new one.
func TestAssertionsPerMiddlewareAndPerAnswer(t *testing.T) {
	key, keyPEM := newKey(t)
	f := newFakeResolver(t)
	api, apiRec := newNamed(t, f, t.Name()+"/api", func(c *authgear.Config) { withAssertion(keyPEM)(c); revalidating(c) })
	admin, adminRec := newNamed(t, f, t.Name()+"/admin", func(c *authgear.Config) {
		withAssertion(keyPEM)(c)
		revalidating(c)
		c.JWTAssertionAudience = "https://admin.example.test"
	})
	_, s1 := do(api, apiRec, request{header: bearer("alice")})
	_, s2 := do(admin, adminRec, request{header: bearer("alice")})
	_, c1 := verified(t, s1.header.Get("X-Authgear-Jwt-Assertion"), &key.PublicKey)
	_, c2 := verified(t, s2.header.Get("X-Authgear-Jwt-Assertion"), &key.PublicKey)
	if c1["aud"] != "https://api.example.test" || c2["aud"] != "https://admin.example.test" || f.calls.Load() != 1 {
		t.Fatalf("audiences %v and %v after %d resolver calls; want each middleware's, one call", c1["aud"], c2["aud"], f.calls.Load())
	}
	// Past cacheTTL the refresh replaces the answer, and the assertion with it.
	first := s1.header.Get("X-Authgear-Jwt-Assertion")
	pastTTL()
	do(api, apiRec, request{header: bearer("alice")}) // starts the refresh
	eventually(t, "the refreshed answer's assertion", func() bool {
		_, s := do(api, apiRec, request{header: bearer("alice")})
		return f.calls.Load() == 2 && s.header.Get("X-Authgear-Jwt-Assertion") != first
	})
}

// An assertion's exp never passes the end of the answer's revalidation
// window (plus the leeway).
func TestAnAssertionEndsWithItsAnswersWindow(t *testing.T) {
	key, keyPEM := newKey(t)
	_, h, rec := newHandler(t, func(c *authgear.Config) {
		withAssertion(keyPEM)(c)
		c.CacheTTL = "20"
		c.StaleWhileRevalidate = "10"
		c.JWTAssertionLifetime = "1h"
	})
	_, s := do(h, rec, request{header: bearer("alice")})
	_, claims := verified(t, s.header.Get("X-Authgear-Jwt-Assertion"), &key.PublicKey)
	iat, _ := claims["iat"].(float64)
	exp, _ := claims["exp"].(float64)
	if exp < iat+89 || exp > iat+91 {
		t.Fatalf("exp - iat = %v, want 30 s of cacheTTL and staleWhileRevalidate plus 60 s of leeway", exp-iat)
	}
}

func TestJWKSPublishesThePublicKeys(t *testing.T) {
	key, keyPEM := newKey(t)
	old, _ := newKey(t)
	oldFile := filepath.Join(t.TempDir(), "old.pem")
	der, _ := x509.MarshalPKIXPublicKey(&old.PublicKey)
	if err := os.WriteFile(oldFile, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	older, olderPEM := newKey(t)
	_, h, rec := newHandler(t, func(c *authgear.Config) {
		withAssertion(keyPEM)(c)
		c.JWKSPath = "/.well-known/authgear-jwks.json"
		c.JWTAssertionPreviousKeys = []string{oldFile, olderPEM}
	})
	w, s := do(h, rec, request{target: "http://api.example.test/.well-known/authgear-jwks.json"})
	if w.Code != 200 || s.called || w.Header().Get("Content-Type") != "application/jwk-set+json" || !strings.Contains(w.Header().Get("Cache-Control"), "max-age") {
		t.Fatalf("JWKS: %d %q %q, backend reached %v", w.Code, w.Header().Get("Content-Type"), w.Header().Get("Cache-Control"), s.called)
	}
	var set struct {
		Keys []map[string]string `json:"keys"`
	}
	if err := json.Unmarshal(w.Body.Bytes(), &set); err != nil {
		t.Fatal(err)
	}
	want := map[string]*ecdsa.PublicKey{kidOf(&key.PublicKey): &key.PublicKey, kidOf(&old.PublicKey): &old.PublicKey, kidOf(&older.PublicKey): &older.PublicKey}
	found := 0
	for _, k := range set.Keys {
		pub, ok := want[k["kid"]]
		if !ok {
			continue // another test's signing middleware: every key of the plugin is published
		}
		found++
		x, _ := base64.RawURLEncoding.DecodeString(k["x"])
		y, _ := base64.RawURLEncoding.DecodeString(k["y"])
		if len(k) != 7 || k["kty"] != "EC" || k["crv"] != "P-256" || k["alg"] != "ES256" || k["use"] != "sig" ||
			new(big.Int).SetBytes(x).Cmp(pub.X) != 0 || new(big.Int).SetBytes(y).Cmp(pub.Y) != 0 {
			t.Fatalf("JWK %v: want only kty, crv, x, y, kid, alg and use of the public key", k)
		}
	}
	if found != 3 {
		t.Fatalf("JWKS %s: %d of the signing key and the two previous keys", w.Body.String(), found)
	}
	// Signed with the current key only.
	_, s = do(h, rec, request{header: bearer("alice")})
	if header, _ := verified(t, s.header.Get("X-Authgear-Jwt-Assertion"), &key.PublicKey); header["kid"] != kidOf(&key.PublicKey) {
		t.Fatalf("kid %v, want the current key's", header["kid"])
	}
	if w, _ := do(h, rec, request{method: "POST", target: "http://api.example.test/.well-known/authgear-jwks.json"}); w.Code != http.StatusMethodNotAllowed {
		t.Fatalf("POST on the JWKS path: %d, want 405", w.Code)
	}
}

// Without a key, the plugin signs with one key per process: a reload does
// not rotate it.
func TestTheGeneratedKeyOutlivesReloads(t *testing.T) {
	f := newFakeResolver(t)
	kids := map[string]bool{}
	for i := 0; i < 2; i++ {
		h, rec := newNamed(t, f, t.Name(), func(c *authgear.Config) { c.JWTAssertion = true; c.CacheTTL = []string{"10s", "20s"}[i] })
		_, s := do(h, rec, request{header: bearer("alice")})
		parts := strings.Split(s.header.Get("X-Authgear-Jwt-Assertion"), ".")
		raw, _ := base64.RawURLEncoding.DecodeString(parts[0])
		var header map[string]string
		_ = json.Unmarshal(raw, &header)
		kids[header["kid"]] = true
	}
	if len(kids) != 1 {
		t.Fatalf("kids %v: want one generated key across reloads", kids)
	}
}

func TestAssertionKeysThatFailToLoad(t *testing.T) {
	_, keyPEM := newKey(t)
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	rsaKey, _ := rsa.GenerateKey(rand.Reader, 2048)
	rsaDER, _ := x509.MarshalPKCS8PrivateKey(rsaKey)
	p384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	p384DER, _ := x509.MarshalECPrivateKey(p384)
	sec1Key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	sec1DER, _ := x509.MarshalECPrivateKey(sec1Key)
	for _, tt := range []struct {
		name string
		edit func(*authgear.Config)
		err  string // "" when it loads
	}{
		{"a PKCS#8 key inline", func(c *authgear.Config) { c.JWTAssertionKey = keyPEM }, ""},
		{"a PKCS#8 key file", func(c *authgear.Config) { c.JWTAssertionKeyFile = write("pkcs8.pem", keyPEM) }, ""},
		{"a SEC 1 key file", func(c *authgear.Config) {
			c.JWTAssertionKeyFile = write("sec1.pem", string(pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: sec1DER})))
		}, ""},
		{"a missing file", func(c *authgear.Config) { c.JWTAssertionKeyFile = filepath.Join(dir, "none.pem") }, "jwtAssertionKeyFile"},
		{"a directory", func(c *authgear.Config) { c.JWTAssertionKeyFile = dir }, "jwtAssertionKeyFile"},
		{"not PEM", func(c *authgear.Config) { c.JWTAssertionKeyFile = write("junk.pem", "not a key") }, "jwtAssertionKeyFile: no PEM block"},
		{"an encrypted key", func(c *authgear.Config) {
			c.JWTAssertionKeyFile = write("enc.pem", "-----BEGIN ENCRYPTED PRIVATE KEY-----\nMIIB\n-----END ENCRYPTED PRIVATE KEY-----\n")
		}, "encrypted"},
		{"an RSA key", func(c *authgear.Config) {
			c.JWTAssertionKey = string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: rsaDER}))
		}, "jwtAssertionKey: the key is not an ECDSA P-256 key"},
		{"a P-384 key", func(c *authgear.Config) {
			c.JWTAssertionKey = string(pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: p384DER}))
		}, "not an ECDSA P-256 key"},
		{"a public key to sign with", func(c *authgear.Config) {
			der, _ := x509.MarshalPKIXPublicKey(&sec1Key.PublicKey)
			c.JWTAssertionKey = string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
		}, "is not a private key"},
		{"both", func(c *authgear.Config) {
			c.JWTAssertionKey = keyPEM
			c.JWTAssertionKeyFile = write("both.pem", keyPEM)
		}, "both set"},
		{"a key without jwtAssertion", func(c *authgear.Config) { c.JWTAssertion = false; c.JWTAssertionKey = keyPEM }, "need jwtAssertion"},
		{"a lifetime too short", func(c *authgear.Config) { c.JWTAssertionLifetime = "5s" }, "jwtAssertionLifetime"},
		{"a lifetime too long", func(c *authgear.Config) { c.JWTAssertionLifetime = "2h" }, "jwtAssertionLifetime"},
		{"a previous key that does not parse", func(c *authgear.Config) {
			c.JWTAssertionPreviousKeys = []string{keyPEM, "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----"}
		}, "jwtAssertionPreviousKeys entry 2"},
		{"jwksPath relative", func(c *authgear.Config) { c.JWKSPath = "jwks.json" }, "jwksPath"},
		{"jwksPath is the metricsPath", func(c *authgear.Config) { c.JWKSPath = "/m"; c.MetricsPath = "/m" }, "jwksPath"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			cfg := authgear.CreateConfig()
			cfg.ResolverURL = "https://myapp.authgear.cloud/_resolver/resolve"
			cfg.JWTAssertion = true
			tt.edit(cfg)
			_, err := authgear.New(context.Background(), http.NotFoundHandler(), cfg, t.Name())
			switch {
			case tt.err == "" && err != nil:
				t.Fatalf("New: %v", err)
			case tt.err != "" && (err == nil || !strings.Contains(err.Error(), tt.err)):
				t.Fatalf("New: %v; want an error naming %q", err, tt.err)
			case err != nil && strings.Contains(err.Error(), "MIIB"):
				t.Fatalf("the error %q shows the key", err)
			}
		})
	}
}
