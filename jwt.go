package authgear

import (
	"encoding/base64"
	"encoding/json"
	"math"
	"strings"
)

// jwtExpiry returns the earliest exp of the bearer tokens that are JWTs, as
// UnixNano, or 0 for none: the cache entry, stale windows included, never
// outlives it. Every Authorization value counts, not only a lone one:
// Authgear reads the first, and a request that repeats a token must not
// drop the cap; the earliest exp of all of them is never later than the exp
// of the one Authgear read. The signature is not checked, and need not be:
// exp can only shorten an entry's life, and Authgear checked the token when
// it resolved it. Opaque and malformed tokens have no exp.
func jwtExpiry(authorization []string) int64 {
	earliest := int64(0)
	for _, value := range authorization {
		if exp := bearerExpiry(value); exp != 0 && (earliest == 0 || exp < earliest) {
			earliest = exp
		}
	}
	return earliest
}

// bearerExpiry returns the exp of one Authorization value that is a bearer
// JWT, as UnixNano, or 0.
func bearerExpiry(value string) int64 {
	scheme, token, ok := strings.Cut(value, " ")
	if !ok || !strings.EqualFold(scheme, "bearer") {
		return 0
	}
	parts := strings.Split(strings.TrimSpace(token), ".")
	if len(parts) != 3 || len(parts[1]) > 8192 {
		return 0
	}
	payload, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(parts[1], "="))
	if err != nil {
		return 0
	}
	var claims jwtClaims
	if json.Unmarshal(payload, &claims) != nil || claims.Exp <= 0 {
		return 0
	}
	if claims.Exp > math.MaxInt64/1e9 {
		return 0
	}
	return int64(claims.Exp * 1e9)
}

// jwtClaims is the part of a JWT's payload the cache reads.
type jwtClaims struct {
	Exp float64 `json:"exp"`
}
