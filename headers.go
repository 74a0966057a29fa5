package authgear

import (
	"crypto/sha256"
	"net"
	"net/http"
	"strconv"
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
	if len(h["Connection"]) > 0 || len(req.Trailer) > 0 {
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

// The cache key of a request's Authgear credentials is the SHA-256 of the
// Authorization header and the three credential cookies, each present one
// tagged so that no two different inputs encode alike; raw tokens are not
// kept as keys. All four inputs count: Authgear reads Bearer tokens first,
// then app_session, app_access_token and session, and a key on fewer inputs
// would give every app_session user one and the same cache entry.
//
// Cookie values never contain ';' (the header is split on it), so the
// "<tag><value>;" segments cannot run into each other, and Authorization
// comes last, as the rest of the key, so whatever bytes it holds cannot be
// mistaken for a cookie segment.
//
// Under Yaegi every call allocates a slot for each value its function may
// hold, so the two usual cases, a bearer token alone and a session cookie
// alone, have small functions of their own; allCredentialsKey encodes
// everything else, and the same credentials alike.

// bearerKey is the key of a request with an Authorization header and no
// Cookie header.
func bearerKey(req *http.Request, names *cookieNames) string {
	authorization := req.Header["Authorization"]
	if len(authorization) > 1 {
		return allCredentialsKey(req, names)
	}
	sum := sha256.Sum256([]byte("A" + authorization[0]))
	return string(sum[:])
}

// cookieKey is the key of a request with a Cookie header, or "" when it
// carries no credential.
func cookieKey(req *http.Request, names *cookieNames) string {
	cookies := req.Header["Cookie"]
	if len(cookies) > 1 || len(req.Header["Authorization"]) > 0 || strings.Contains(cookies[0], "app_") {
		return allCredentialsKey(req, names)
	}
	c, err := req.Cookie(names.session)
	if err != nil {
		return ""
	}
	sum := sha256.Sum256([]byte("I" + c.Value + ";"))
	return string(sum[:])
}

// credentialKey returns the cache key of the request's credentials, or ""
// when it carries none. ServeHTTP makes the same two-way choice inline, to
// save a call per request under Yaegi; the fuzz targets check the key
// functions through this one.
func credentialKey(req *http.Request, names *cookieNames) string {
	if len(req.Header["Cookie"]) > 0 {
		return cookieKey(req, names)
	}
	if len(req.Header["Authorization"]) > 0 {
		return bearerKey(req, names)
	}
	return ""
}

// allCredentialsKey encodes every credential the request carries.
//
// Cookie values never contain ';' (the header is split on it), so the
// "<tag><value>;" segments cannot run into each other, and Authorization
// comes last, as the rest of the key, so whatever bytes it holds cannot be
// mistaken for a cookie segment.
func allCredentialsKey(req *http.Request, names *cookieNames) string {
	key := ""
	if c, err := req.Cookie(names.appSession); err == nil {
		key = "S" + c.Value + ";"
	}
	if c, err := req.Cookie(names.appAccessToken); err == nil {
		key += "T" + c.Value + ";"
	}
	if c, err := req.Cookie(names.session); err == nil {
		key += "I" + c.Value + ";"
	}
	if authorization := req.Header["Authorization"]; len(authorization) > 0 {
		key += authorizationSegment(authorization)
	}
	if key == "" {
		return ""
	}
	return hashKey(key)
}

// authorizationSegment encodes the Authorization values: one value as "A" and
// the value, several (rare) length-prefixed.
func authorizationSegment(values []string) string {
	if len(values) == 1 {
		return "A" + values[0]
	}
	segment := "M"
	for _, v := range values {
		segment += strconv.Itoa(len(v)) + ":" + v
	}
	return segment
}

// hashKey returns the SHA-256 of the encoded credentials, as a string key.
func hashKey(encoded string) string {
	sum := sha256.Sum256([]byte(encoded))
	return string(sum[:])
}

// hopHeaders are removed from the request to the resolver: they describe the
// client's connection, not the request (RFC 9110, section 7.6.1), and the
// body headers do not apply to the bodiless GET.
var hopHeaders = []string{
	"Connection",
	"Proxy-Connection",
	"Keep-Alive",
	"Proxy-Authenticate",
	"Proxy-Authorization",
	"Te",
	"Trailer",
	"Transfer-Encoding",
	"Upgrade",
	"Content-Length",
	"Content-Type",
	"Content-Encoding",
	"Expect",
}

// resolverHeaders returns the headers of the request to the resolver: the
// incoming ones (identity headers already stripped) minus hop-by-hop and body
// headers, with the Authgear host in X-Forwarded-Host and the client's IP
// appended to X-Forwarded-For, as net/http/httputil's ReverseProxy does.
// Headers named in Connection are kept: a client that lists Cookie or
// Authorization there must not make the resolver see other credentials than
// the ones the cache key was computed from.
func resolverHeaders(req *http.Request, host string) http.Header {
	h := req.Header.Clone()
	if h == nil {
		h = http.Header{}
	}
	for _, name := range hopHeaders {
		delete(h, name)
	}
	h["X-Forwarded-Host"] = []string{host}
	if ip, _, err := net.SplitHostPort(req.RemoteAddr); err == nil {
		if prior := h["X-Forwarded-For"]; len(prior) > 0 {
			ip = strings.Join(prior, ", ") + ", " + ip
		}
		h["X-Forwarded-For"] = []string{ip}
	}
	return h
}

// addSetCookies adds the resolver's Set-Cookie values to the response.
func addSetCookies(h http.Header, cookies []string) {
	if len(cookies) > 0 {
		h["Set-Cookie"] = append(h["Set-Cookie"], cookies...)
	}
}

// isPreflight reports whether the request is a CORS preflight, which browsers
// send without credentials and which must not be refused.
func isPreflight(req *http.Request) bool {
	return req.Method == http.MethodOptions &&
		req.Header.Get("Origin") != "" &&
		req.Header.Get("Access-Control-Request-Method") != ""
}
