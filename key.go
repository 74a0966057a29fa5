package authgear

import (
	"crypto/sha256"
	"net/http"
	"strconv"
	"strings"
)

// credentials are a request's Authgear credentials as the plugin parsed them:
// the three credential cookies (by Go's cookie parser, the one Traefik runs)
// and the Authorization values. The resolver is sent exactly these, and the
// cache key is computed from exactly these: nothing else of the request
// reaches Authgear as a credential.
type credentials struct {
	appSession, appAccessToken, session string
	hasAppSession, hasAppAccessToken    bool
	hasSession                          bool
	authorization                       []string
	// scheme is the X-Forwarded-Proto the resolver is sent when it depends
	// on the request (a bare resolverHost): then it is keyed too, since
	// Authgear checks a JWT's audience against it. "" otherwise.
	scheme string
}

// readCredentials parses the request's credentials.
func readCredentials(req *http.Request, names *cookieNames) credentials {
	var cr credentials
	if len(req.Header["Cookie"]) > 0 {
		if c, err := req.Cookie(names.appSession); err == nil {
			cr.appSession = c.Value
			cr.hasAppSession = true
		}
		if c, err := req.Cookie(names.appAccessToken); err == nil {
			cr.appAccessToken = c.Value
			cr.hasAppAccessToken = true
		}
		if c, err := req.Cookie(names.session); err == nil {
			cr.session = c.Value
			cr.hasSession = true
		}
	}
	cr.authorization = req.Header["Authorization"]
	return cr
}

// any reports whether the request carries any credential.
func (cr *credentials) any() bool {
	return cr.hasAppSession || cr.hasAppAccessToken || cr.hasSession || len(cr.authorization) > 0
}

// key is the cache key of the credentials: the SHA-256 of an encoding in
// which each present credential is tagged, so that no two different sets of
// credentials encode alike; raw tokens are not kept as keys. All four inputs
// count: Authgear reads Bearer tokens first, then app_session,
// app_access_token and session, and a key on fewer inputs would give every
// app_session user one and the same cache entry.
//
// Cookie values never contain ';' (the parser splits on it), so the
// "<tag><value>;" segments cannot run into each other, and Authorization
// comes last, as the rest of the key, so whatever bytes it holds cannot be
// mistaken for a cookie segment.
func (cr *credentials) key() string {
	encoded := ""
	if cr.hasAppSession {
		encoded = "S" + cr.appSession + ";"
	}
	if cr.hasAppAccessToken {
		encoded += "T" + cr.appAccessToken + ";"
	}
	if cr.hasSession {
		encoded += "I" + cr.session + ";"
	}
	if len(cr.authorization) == 1 {
		encoded += "A" + cr.authorization[0]
	} else if len(cr.authorization) > 1 {
		encoded += "M"
		for _, v := range cr.authorization {
			encoded += strconv.Itoa(len(v)) + ":" + v
		}
	}
	sum := sha256.Sum256([]byte(encoded))
	return scopedKey(string(sum[:]), cr.scheme)
}

// scopedKey is key for the resolver scheme, when that is keyed ("" leaves
// key as it is).
func scopedKey(key, scheme string) string {
	if scheme == "" {
		return key
	}
	sum := sha256.Sum256([]byte(scheme + ";" + key))
	return string(sum[:])
}

// cookieHeader is the Cookie header the resolver is sent: the parsed
// credential cookies and nothing else, or "" for none. A request whose Cookie
// lines Go's parser refuses (more than 3,000 cookies) has none: sending the
// raw header would let an HTTP/2 resolver, which drops empty crumbs, find a
// session that the cache key does not cover.
func (cr *credentials) cookieHeader(names *cookieNames) string {
	var pairs []string
	if cr.hasAppSession {
		pairs = append(pairs, cookiePair(names.appSession, cr.appSession))
	}
	if cr.hasAppAccessToken {
		pairs = append(pairs, cookiePair(names.appAccessToken, cr.appAccessToken))
	}
	if cr.hasSession {
		pairs = append(pairs, cookiePair(names.session, cr.session))
	}
	return strings.Join(pairs, "; ")
}

// cookiePair writes one cookie as the resolver reads it back: a value with a
// space or a comma (which Go accepts unquoted but other parsers, and
// HTTP/2's crumb trimming, may not keep intact) is quoted.
func cookiePair(name, value string) string {
	if strings.ContainsAny(value, " ,") {
		return name + "=\"" + value + "\""
	}
	return name + "=" + value
}

// credentialKey returns the cache key of the request's credentials, or ""
// when it carries none: readCredentials(req).key() (before scopedKey), with
// the two usual cases, one session cookie alone and a bearer token alone,
// computed without building the credentials. This runs on every request
// with credentials under Yaegi, where a call pays for every slot of its
// callee's frame: the session cookie, the case of a cache hit from a
// browser, is computed here, and every other case in otherKey. The fuzz
// targets check that it always equals the general form.
func credentialKey(req *http.Request, names *cookieNames) string {
	cookies := req.Header["Cookie"]
	if len(cookies) != 1 || len(req.Header["Authorization"]) != 0 || strings.Contains(cookies[0], "app_") {
		return otherKey(req, names)
	}
	c, err := req.Cookie(names.session)
	if err != nil {
		return ""
	}
	sum := sha256.Sum256([]byte("I" + c.Value + ";"))
	return string(sum[:])
}

// otherKey is credentialKey for everything but a session cookie alone.
func otherKey(req *http.Request, names *cookieNames) string {
	h := req.Header
	if len(h["Cookie"]) == 0 && len(h["Authorization"]) == 1 {
		sum := sha256.Sum256([]byte("A" + h["Authorization"][0]))
		return string(sum[:])
	}
	return generalKey(req, names)
}

// generalKey is the key of any set of credentials, or "" for none.
func generalKey(req *http.Request, names *cookieNames) string {
	cr := readCredentials(req, names)
	if !cr.any() {
		return ""
	}
	return cr.key()
}
