package authgear

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// A refusal speaks the protocol the client already knows: every 401 carries
// a Bearer challenge (RFC 9110 §11.6.1, RFC 6750 §3), a step-up refusal is
// RFC 9470's insufficient_user_authentication (with max_age for maxAuthAge),
// a client that accepts JSON gets an RFC 9457 problem document, and a
// browser navigation is redirected to loginURL with what the login page needs
// to ask Authgear for the sign-in the policy wants. No identity value,
// credential or resolver output ever appears in a refusal: only the
// policy's own settings.

// refusal is how one verdict is answered.
type refusal struct {
	status int
	reason string // the metrics' label and the problem type's anchor
	title  string // the problem document's title
	detail string // its detail, and the text body
	// challenge is the RFC 6750 error code of the 401's Bearer challenge,
	// "" for a bare challenge (no credential) or none (a 403).
	challenge string
}

// refusals answers each verdict but verdictPass.
var refusals = [verdictCount]refusal{
	verdictNoSession:    {401, "no_session", "Sign-in required", "Sign in to access this resource.", ""},
	verdictInvalidToken: {401, "invalid_token", "Sign-in required", "The credentials sent are not a valid session: sign in again.", "invalid_token"},
	verdictAnonymous:    {401, "anonymous_user", "Sign-in required", "Anonymous users cannot access this resource: sign up or sign in.", "insufficient_user_authentication"},
	verdictNotVerified:  {403, "not_verified", "Verified account required", "Verify your account to access this resource.", ""},
	verdictRole:         {403, "missing_role", "Role required", "Your account lacks a role this resource requires.", ""},
	verdictAMR:          {401, "authentication_method", "Stronger sign-in required", "Sign in again with a stronger authentication method to access this resource.", "insufficient_user_authentication"},
	verdictAuthAge:      {401, "authentication_age", "Recent sign-in required", "Sign in again to access this resource: your sign-in is too old.", "insufficient_user_authentication"},
}

// problemTypeBase is where each refusal's problem type is documented.
const problemTypeBase = "https://github.com/traefik-authgear/traefik-authgear/blob/main/docs/policies.md#"

// problem is an RFC 9457 problem document.
type problem struct {
	Type   string `json:"type"`
	Title  string `json:"title"`
	Status int    `json:"status"`
	Detail string `json:"detail"`
}

// refuse answers a request the policy does not let through, and counts it.
func (m *Middleware) refuse(rw http.ResponseWriter, req *http.Request, v verdict) {
	r := &refusals[v]
	m.metrics.refused[v].Add(1)
	if r.status == http.StatusForbidden {
		m.metrics.forbidden.Add(1)
		writeRefusal(rw, req, r)
		return
	}
	s := m.settings
	if s.loginURL != "" && isNavigation(req) {
		m.metrics.redirected.Add(1)
		h := rw.Header()
		h.Set("Cache-Control", "no-store") // the redirect depends on the credentials
		h.Set("X-Content-Type-Options", "nosniff")
		http.Redirect(rw, req, loginRedirect(s.loginURL, req, v, &s.policy), http.StatusFound)
		return
	}
	m.metrics.unauthorized.Add(1)
	rw.Header().Set("WWW-Authenticate", bearerChallenge(s.resolverHost, r, v, &s.policy))
	writeRefusal(rw, req, r)
}

// bearerChallenge is the WWW-Authenticate value of a 401: the realm is the
// Authgear app's host; a step-up for maxAuthAge says max_age in whole
// seconds (RFC 9470 §3).
func bearerChallenge(realm string, r *refusal, v verdict, p *policy) string {
	c := `Bearer realm="` + quotable(realm) + `"`
	if r.challenge == "" {
		return c
	}
	c += `, error="` + r.challenge + `", error_description="` + quotable(r.detail) + `"`
	if v == verdictAuthAge {
		c += ", max_age=" + strconv.FormatInt(p.maxAuthAge/1e9, 10)
	}
	return c
}

// quotable drops the two characters a quoted-string would need to escape,
// which neither a host nor the plugin's own texts need.
func quotable(s string) string {
	return strings.NewReplacer(`"`, "", `\`, "").Replace(s)
}

// writeRefusal writes the refusal's body: an RFC 9457 problem document to a
// client that accepts JSON, else the short text.
func writeRefusal(rw http.ResponseWriter, req *http.Request, r *refusal) {
	if !acceptsJSON(req) {
		writeText(rw, r.status, r.detail)
		return
	}
	body, _ := json.Marshal(problem{Type: problemTypeBase + r.reason, Title: r.title, Status: r.status, Detail: r.detail})
	h := rw.Header()
	h.Set("Content-Type", "application/problem+json")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Cache-Control", "no-store")
	rw.WriteHeader(r.status)
	_, _ = rw.Write(body)
}

// acceptsJSON reports whether the client asks for JSON: application/json,
// application/problem+json or another +json type in Accept.
func acceptsJSON(req *http.Request) bool {
	accept := req.Header.Get("Accept")
	return strings.Contains(accept, "application/json") || strings.Contains(accept, "+json")
}

// isNavigation reports whether the request looks like a browser loading a
// page: GET or HEAD accepting HTML.
func isNavigation(req *http.Request) bool {
	return (req.Method == http.MethodGet || req.Method == http.MethodHead) &&
		strings.Contains(req.Header.Get("Accept"), "text/html")
}

// loginRedirect returns loginURL with the request's absolute URL added as
// the redirect_uri query parameter and, for a step-up, what the login page
// passes on to Authgear's authorize endpoint: prompt=login (sign in again,
// even with a session), max_age (maxAuthAge in whole seconds) or
// amr_values (requireAMR, space-separated, as OIDC's acr_values).
func loginRedirect(loginURL string, req *http.Request, v verdict, p *policy) string {
	scheme := "http"
	if req.TLS != nil {
		scheme = "https"
	}
	if proto := req.Header.Get("X-Forwarded-Proto"); proto == "http" || proto == "https" {
		scheme = proto
	}
	original := scheme + "://" + req.Host + req.URL.RequestURI()
	sep := "?"
	if strings.Contains(loginURL, "?") {
		sep = "&"
	}
	target := loginURL + sep + "redirect_uri=" + url.QueryEscape(original)
	switch v {
	case verdictAuthAge:
		target += "&prompt=login&max_age=" + strconv.FormatInt(p.maxAuthAge/1e9, 10)
	case verdictAMR:
		target += "&prompt=login&amr_values=" + url.QueryEscape(strings.Join(p.requireAMR, " "))
	}
	return target
}
