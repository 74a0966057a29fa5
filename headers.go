package authgear

import (
	"net/http"
	"strings"
)

// identityPrefix starts the name of every header that carries identity.
const identityPrefix = "x-authgear-"

// isIdentityHeader reports whether a header name, lower-cased and with "_"
// read as "-", starts with "x-authgear-". CGI, WSGI, PHP and Rack backends
// read X_Authgear_User_Id as HTTP_X_AUTHGEAR_USER_ID, the same variable as
// the real header, so the underscore spelling is a forgery too.
func isIdentityHeader(name string) bool {
	if len(name) < len(identityPrefix) || (name[0] != 'X' && name[0] != 'x') {
		return false
	}
	return strings.EqualFold(strings.ReplaceAll(name[:len(identityPrefix)], "_", "-"), identityPrefix)
}

// stripIdentityHeaders removes every identity header the client sent, from
// the headers and the declared trailers, and removes identity header names
// from Connection, so that no proxy downstream drops the headers this
// middleware sets as hop-by-hop.
//
// The loop runs on every request under Yaegi, so it first tests one byte
// inline: every spelling of "x-authgear-" has 'a' or 'A' third (b|0x20 folds
// exactly those two to 'a'), which rules out all but a few ordinary header
// names without a function call.
func stripIdentityHeaders(req *http.Request) {
	h := req.Header
	for name := range h {
		if len(name) >= len(identityPrefix) && name[2]|0x20 == 'a' && isIdentityHeader(name) {
			delete(h, name)
		}
	}
	if len(h["Connection"])+len(req.Trailer) > 0 {
		stripIdentityNames(req)
	}
}

// stripIdentityNames removes identity header names from Connection and
// identity headers from the declared trailers.
func stripIdentityNames(req *http.Request) {
	h := req.Header
	if len(h["Connection"]) > 0 {
		h["Connection"] = withoutIdentityTokens(h["Connection"])
		if len(h["Connection"]) == 0 {
			delete(h, "Connection")
		}
	}
	for name := range req.Trailer {
		if isIdentityHeader(name) {
			delete(req.Trailer, name)
		}
	}
}

// withoutIdentityTokens returns the comma-separated header values without the
// tokens that name identity headers.
func withoutIdentityTokens(values []string) []string {
	var out []string
	for _, v := range values {
		if !strings.Contains(strings.ToLower(v), "authgear") {
			out = append(out, v)
			continue
		}
		var kept []string
		for _, token := range strings.Split(v, ",") {
			if t := strings.TrimSpace(token); t != "" && !isIdentityHeader(t) {
				kept = append(kept, t)
			}
		}
		if len(kept) > 0 {
			out = append(out, strings.Join(kept, ", "))
		}
	}
	return out
}
