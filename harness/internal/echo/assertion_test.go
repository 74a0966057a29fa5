package echo_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/traefik-authgear/traefik-authgear/harness/internal/assertion"
	"github.com/traefik-authgear/traefik-authgear/harness/internal/echo"
)

// TestEchoAssertion: with Options.Assertion the JSON echo says what it made
// of X-Authgear-Jwt-Assertion, in its body and in X-Echo-Assertion; without
// it (tests, benchmarks) the answer is as before, whatever the request
// carries.
func TestEchoAssertion(t *testing.T) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	jwks := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_ = json.NewEncoder(w).Encode(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: &key.PublicKey, KeyID: "k1"}}})
	}))
	defer jwks.Close()
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: jose.JSONWebKey{Key: key, KeyID: "k1"}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	token, err := jwt.Signed(signer).Claims(jwt.Claims{Issuer: "iss", Audience: jwt.Audience{"aud"}, Subject: "u1",
		Expiry: jwt.NewNumericDate(time.Now().Add(time.Minute))}).Serialize()
	if err != nil {
		t.Fatal(err)
	}
	verifying := echo.HandlerWith(echo.Options{Assertion: assertion.NewVerifier(assertion.Config{JWKSURL: jwks.URL, Issuer: "iss", Audience: "aud"})})
	for _, tc := range []struct {
		name      string
		handler   http.Handler
		assertion string // sent in the header, if any
		want      string // X-Echo-Assertion's start and the body's status; "" neither
	}{
		{"verified", verifying, token, assertion.StatusVerified + "; sub=u1;"},
		{"rejected", verifying, "forged", assertion.StatusRejected + ": not an ES256 JWT"},
		{"absent", verifying, "", assertion.StatusAbsent + ": no X-Authgear-Jwt-Assertion"},
		{"not verifying", echo.Handler(), token, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req := httptest.NewRequest(http.MethodGet, "/", nil)
			if tc.assertion != "" {
				req.Header.Set(assertion.Header, tc.assertion)
			}
			rec := httptest.NewRecorder()
			tc.handler.ServeHTTP(rec, req)
			var got echo.Request
			if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil {
				t.Fatal(err)
			}
			summary, hasSummary := rec.Result().Header[echo.HeaderAssertion]
			if tc.want == "" {
				if hasSummary || got.Assertion != nil || strings.Contains(rec.Body.String(), "verified_assertion") {
					t.Errorf("%s %v, body %s: want neither", echo.HeaderAssertion, summary, rec.Body)
				}
				return
			}
			status, _, _ := strings.Cut(tc.want, ";")
			status, _, _ = strings.Cut(status, ":")
			if len(summary) != 1 || !strings.HasPrefix(summary[0], tc.want) || got.Assertion == nil || got.Assertion.Status != status {
				t.Errorf("%s %q, body's verified_assertion %+v: want %q...", echo.HeaderAssertion, summary, got.Assertion, tc.want)
			}
		})
	}
}
