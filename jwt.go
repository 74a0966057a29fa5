package authgear

import (
	"encoding/base64"
	"encoding/json"
	"math"
	"strings"
)

// jwtExpiry returns the exp of a bearer token that is a JWT, as UnixNano, or
// 0: its cache entry, stale windows included, never outlives it. The
// signature is not checked, and need not be: exp can only shorten an
// entry's life, and Authgear checked the token when it resolved it. Opaque
// tokens, malformed ones and several Authorization values are not JWTs.
func jwtExpiry(authorization []string) int64 {
	if len(authorization) != 1 {
		return 0
	}
	scheme, token, ok := strings.Cut(authorization[0], " ")
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
