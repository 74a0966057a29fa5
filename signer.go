package authgear

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"
)

// The signed identity: with jwtAssertion, every request that the policy lets
// through with a valid session reaches the backend with
// X-Authgear-Jwt-Assertion, a short-lived ES256 JWT of the identity, so that
// the backend can prove the request came through this middleware and read
// the identity from verified claims. The keys are published at jwksPath.
//
// Assertions are minted per cached answer and middleware, never per request:
// the answer holds them (answer.assertions, under its cache's lock), a hit
// sets one header from what it holds, and one hit re-mints it when it comes
// within assertionRenewBefore of its exp.

// assertionHeader is the request header that carries the assertion.
const assertionHeader = "X-Authgear-Jwt-Assertion"

// isAssertionHeader reports whether a header name reads as assertionHeader
// in any case, with "_" read as "-" (CGI backends read both spellings as
// one variable): a resolver's answer never supplies it.
func isAssertionHeader(name string) bool {
	return strings.EqualFold(strings.ReplaceAll(name, "_", "-"), assertionHeader)
}

// Timing of an assertion: exp is at most the lifetime after iat (and never
// past the end of the answer's revalidation window), plus assertionLeeway
// for clocks and transit; a hit within assertionRenewBefore of exp gets a
// new one, so that the backend never receives an expired assertion.
const (
	assertionLeeway      = 60 * time.Second
	assertionRenewBefore = 30 * time.Second
	minAssertionLifetime = 10 * time.Second
	maxAssertionLifetime = time.Hour
)

// assertionClaims is the payload of an assertion, in the claim names of
// Authgear's own access and ID tokens (authgear-server
// pkg/api/model/claims.go): a backend that verifies Authgear tokens reads
// the assertion with the same code.
type assertionClaims struct {
	Issuer            string   `json:"iss"`
	Audience          string   `json:"aud"`
	Subject           string   `json:"sub"`
	IssuedAt          int64    `json:"iat"`
	NotBefore         int64    `json:"nbf"`
	Expires           int64    `json:"exp"`
	IsAnonymous       bool     `json:"https://authgear.com/claims/user/is_anonymous"`
	IsVerified        bool     `json:"https://authgear.com/claims/user/is_verified"`
	CanReauthenticate bool     `json:"https://authgear.com/claims/user/can_reauthenticate"`
	Roles             []string `json:"https://authgear.com/claims/user/roles"`
	AuthTime          int64    `json:"auth_time,omitempty"`
	AMR               []string `json:"amr,omitempty"`
}

// signer mints the assertions of one middleware instance.
type signer struct {
	key      *ecdsa.PrivateKey
	kid      string
	header   string // the JWS header, base64url-encoded
	issuer   string
	audience string
	lifetime int64 // nanoseconds
}

// assertion is one minted assertion, held by the answer it asserts.
type assertion struct {
	signer  *signer
	token   string
	exp     int64 // UnixNano
	renewAt int64 // UnixNano: a hit from then on mints a new one
	minting bool  // a hit is minting its successor (cache.mu)
}

// newSigner makes the signer of a key for an issuer, audience and lifetime.
func newSigner(key *ecdsa.PrivateKey, issuer, audience string, lifetime time.Duration) *signer {
	kid := thumbprint(&key.PublicKey)
	header, _ := json.Marshal(map[string]string{"alg": "ES256", "typ": "JWT", "kid": kid})
	return &signer{
		key: key, kid: kid, header: base64.RawURLEncoding.EncodeToString(header),
		issuer: issuer, audience: audience, lifetime: int64(lifetime),
	}
}

// mint signs an assertion of the answer's identity at now (UnixNano); until
// is the end of the answer's revalidation window (0 for none known).
func (s *signer) mint(a *answer, now, until int64) (*assertion, error) {
	exp := now + s.lifetime
	if until != 0 && until < exp {
		exp = until
	}
	if exp < now { // a stale answer, past its window (staleIfError)
		exp = now
	}
	exp += int64(assertionLeeway)
	claims := assertionClaims{
		Issuer: s.issuer, Audience: s.audience, Subject: a.userID,
		IssuedAt: now / 1e9, NotBefore: now / 1e9, Expires: exp / 1e9,
		IsAnonymous: a.anonymous, IsVerified: a.verified, CanReauthenticate: a.canReauthenticate,
		Roles: a.roles, AuthTime: a.authenticatedAt / 1e9, AMR: a.amr,
	}
	if claims.Roles == nil {
		claims.Roles = []string{} // always present, as in Authgear's tokens
	}
	payload, err := json.Marshal(&claims)
	if err != nil {
		return nil, err
	}
	input := s.header + "." + base64.RawURLEncoding.EncodeToString(payload)
	digest := sha256.Sum256([]byte(input))
	r, sig, err := ecdsa.Sign(rand.Reader, s.key, digest[:])
	if err != nil {
		return nil, err
	}
	raw := make([]byte, 64) // RFC 7518 §3.4: r and s, 32 bytes each
	r.FillBytes(raw[:32])
	sig.FillBytes(raw[32:])
	token := input + "." + base64.RawURLEncoding.EncodeToString(raw)
	return &assertion{signer: s, token: token, exp: exp, renewAt: exp - int64(assertionRenewBefore)}, nil
}

// thumbprint is the RFC 7638 thumbprint of a P-256 public key: the
// base64url SHA-256 of its required members in lexicographic order.
func thumbprint(pub *ecdsa.PublicKey) string {
	x, y := coordinates(pub)
	canonical := `{"crv":"P-256","kty":"EC","x":"` + x + `","y":"` + y + `"}`
	sum := sha256.Sum256([]byte(canonical))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// coordinates returns a P-256 public key's x and y, base64url-encoded, 32
// bytes each (RFC 7518 §6.2.1.2).
func coordinates(pub *ecdsa.PublicKey) (string, string) {
	x := make([]byte, 32)
	y := make([]byte, 32)
	pub.X.FillBytes(x)
	pub.Y.FillBytes(y)
	return base64.RawURLEncoding.EncodeToString(x), base64.RawURLEncoding.EncodeToString(y)
}

// jwk is a public key as a JWKS lists it (RFC 7517).
type jwk struct {
	Kty string `json:"kty"`
	Crv string `json:"crv"`
	X   string `json:"x"`
	Y   string `json:"y"`
	Kid string `json:"kid"`
	Alg string `json:"alg"`
	Use string `json:"use"`
}

// publicJWK returns the JWK of a P-256 public key.
func publicJWK(pub *ecdsa.PublicKey) jwk {
	x, y := coordinates(pub)
	return jwk{Kty: "EC", Crv: "P-256", X: x, Y: y, Kid: thumbprint(pub), Alg: "ES256", Use: "sig"}
}

// The key a middleware signs with when it is given none: one per Traefik
// process, made at the first New that needs it and kept across reloads, so
// that a reload does not rotate it.
var (
	generatedKeyMu sync.Mutex
	generatedKey   *ecdsa.PrivateKey
)

// processKey returns the process's generated key, making it (and saying
// so) the first time.
func processKey() (*ecdsa.PrivateKey, error) {
	generatedKeyMu.Lock()
	defer generatedKeyMu.Unlock()
	if generatedKey != nil {
		return generatedKey, nil
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	generatedKey = key
	fmt.Fprintf(os.Stderr, "authgear: jwtAssertion signs with a P-256 key generated for this Traefik process (kid %s); several replicas need one shared key: set jwtAssertionKeyFile\n", thumbprint(&key.PublicKey))
	return key, nil
}

// maxKeyFileSize bounds a key file: a P-256 key in PEM is under 300 bytes.
const maxKeyFileSize = 16 << 10

// readKeyPEM returns the PEM text of an option that takes inline PEM or a
// file path (a regular file of bounded size, see readConfigFile).
func readKeyPEM(option, value string) ([]byte, error) {
	v := strings.TrimSpace(value)
	if strings.HasPrefix(v, "-----BEGIN") {
		return []byte(v), nil
	}
	data, err := readConfigFile(option, v, maxKeyFileSize)
	if err != nil {
		return nil, fmt.Errorf("%w holding a PEM key, or the PEM text itself", err)
	}
	return data, nil
}

// parsePrivateKey reads a P-256 private key from PEM: PKCS#8 ("PRIVATE
// KEY") or SEC 1 ("EC PRIVATE KEY"); an encrypted key, another curve or
// another kind of key is refused, naming the option.
func parsePrivateKey(option string, data []byte) (*ecdsa.PrivateKey, error) {
	block, _ := pem.Decode(data)
	if block == nil {
		return nil, fmt.Errorf("%s: no PEM block found: give a P-256 private key in PEM (PKCS#8 or SEC 1)", option)
	}
	if block.Type == "ENCRYPTED PRIVATE KEY" || block.Headers["Proc-Type"] != "" {
		return nil, fmt.Errorf("%s: the key is encrypted: give it unencrypted (keep the file itself secret)", option)
	}
	var key interface{}
	var err error
	switch block.Type {
	case "PRIVATE KEY":
		key, err = x509.ParsePKCS8PrivateKey(block.Bytes)
	case "EC PRIVATE KEY":
		key, err = x509.ParseECPrivateKey(block.Bytes)
	default:
		return nil, fmt.Errorf("%s: a PEM %q block is not a private key: give a P-256 private key (PKCS#8 \"PRIVATE KEY\" or SEC 1 \"EC PRIVATE KEY\")", option, block.Type)
	}
	if err != nil {
		return nil, fmt.Errorf("%s: the private key does not parse: give a P-256 private key in PEM", option)
	}
	ec, ok := key.(*ecdsa.PrivateKey)
	if !ok || ec.Curve != elliptic.P256() {
		return nil, fmt.Errorf("%s: the key is not an ECDSA P-256 key: ES256 needs one (openssl ecparam -name prime256v1 -genkey -noout)", option)
	}
	return ec, nil
}

// parsePublicKey reads a P-256 public key from PEM: a public key ("PUBLIC
// KEY") or a private key, whose public part is taken.
func parsePublicKey(option string, data []byte) (*ecdsa.PublicKey, error) {
	block, _ := pem.Decode(data)
	if block == nil {
		return nil, fmt.Errorf("%s: no PEM block found: give a P-256 public or private key in PEM", option)
	}
	if block.Type != "PUBLIC KEY" {
		key, err := parsePrivateKey(option, data)
		if err != nil {
			return nil, err
		}
		return &key.PublicKey, nil
	}
	key, err := x509.ParsePKIXPublicKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("%s: the public key does not parse: give a P-256 public key in PEM", option)
	}
	ec, ok := key.(*ecdsa.PublicKey)
	if !ok || ec.Curve != elliptic.P256() {
		return nil, fmt.Errorf("%s: the key is not an ECDSA P-256 key", option)
	}
	return ec, nil
}

// assertionFor returns the middleware's assertion of the answer: the one the
// answer holds, or, when there is none or it is within assertionRenewBefore
// of its exp, a new one that replaces it. One hit mints the successor while
// the others go on with the old one until its exp; "" if signing failed.
func assertionFor(m *Middleware, ans *answer) string {
	return assertionAt(m, ans, time.Now().UnixNano())
}

// assertionAt is assertionFor at the time now (UnixNano).
func assertionAt(m *Middleware, ans *answer, now int64) string {
	c := m.cache
	c.mu.Lock()
	held := heldAssertion(ans, m.signer)
	if held != nil && (now < held.renewAt || held.minting && now < held.exp) {
		token := held.token
		c.mu.Unlock()
		return token
	}
	if held != nil {
		held.minting = true
	}
	until := ans.until
	c.mu.Unlock()
	minted, err := m.signer.mint(ans, now, until)
	if err != nil {
		m.shared.logResolver("jwtAssertion: signing failed: %v", err)
		return ""
	}
	c.mu.Lock()
	keepAssertion(ans, minted)
	c.mu.Unlock()
	return minted.token
}

// heldAssertion returns the answer's assertion by the signer, or nil; the
// cache's lock must be held.
func heldAssertion(ans *answer, s *signer) *assertion {
	for _, a := range ans.assertions {
		if a.signer == s {
			return a
		}
	}
	return nil
}

// keepAssertion stores a minted assertion in the answer, in place of the
// signer's previous one; the cache's lock must be held. The list is
// replaced, not edited, and bounded by the signers in use.
func keepAssertion(ans *answer, minted *assertion) {
	kept := make([]*assertion, 0, len(ans.assertions)+1)
	kept = append(kept, minted)
	for _, a := range ans.assertions {
		if a.signer != minted.signer && len(kept) < maxAssertionsPerAnswer {
			kept = append(kept, a)
		}
	}
	ans.assertions = kept
	ans.assertion = minted
}

// maxAssertionsPerAnswer bounds the assertions one answer holds: one per
// signing middleware over the app; signers of retired instances fall off.
const maxAssertionsPerAnswer = 8

// serveJWKS answers jwksPath: the public keys of every middleware of the
// plugin in this Traefik that signs, and of their previous keys, to any
// client (RFC 7517).
func serveJWKS(rw http.ResponseWriter, req *http.Request) {
	if req.Method != http.MethodGet && req.Method != http.MethodHead {
		rw.Header().Set("Allow", "GET, HEAD")
		writeText(rw, http.StatusMethodNotAllowed, "method not allowed")
		return
	}
	body, _ := json.Marshal(jwkSet{Keys: publishedKeys(registeredInstances())})
	h := rw.Header()
	h.Set("Content-Type", "application/jwk-set+json")
	h.Set("Cache-Control", "public, max-age=300")
	h.Set("X-Content-Type-Options", "nosniff")
	rw.WriteHeader(http.StatusOK)
	if req.Method == http.MethodGet {
		_, _ = rw.Write(body)
	}
}

// jwkSet is a JWKS.
type jwkSet struct {
	Keys []jwk `json:"keys"`
}

// publishedKeys returns the JWKs of the instances' signing and previous
// keys, each once.
func publishedKeys(instances []*instance) []jwk {
	keys := []jwk{}
	seen := map[string]bool{}
	add := func(pub *ecdsa.PublicKey) {
		k := publicJWK(pub)
		if !seen[k.Kid] {
			seen[k.Kid] = true
			keys = append(keys, k)
		}
	}
	for _, in := range instances {
		if in.signer != nil {
			add(&in.signer.key.PublicKey)
		}
		for _, pub := range in.settings.previousKeys {
			add(pub)
		}
	}
	return keys
}
