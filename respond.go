package authgear

import (
	"net/http"
	"net/url"
	"strings"
)

// writeResolverFailure answers a request whose identity could not be
// established: 502, 504 when the resolver timed out, 431 when the request's
// credentials are too large to be sent to it.
func writeResolverFailure(rw http.ResponseWriter, status int) {
	switch status {
	case http.StatusRequestHeaderFieldsTooLarge:
		writeText(rw, status, "request header fields too large: the Authorization and Authgear cookies may carry at most 8 KiB")
	case http.StatusGatewayTimeout:
		writeText(rw, status, "authentication service timed out")
	case statusClientClosedRequest:
		writeText(rw, status, "client closed request")
	default:
		writeText(rw, http.StatusBadGateway, "authentication service unavailable")
	}
}

// refuse answers a request the policy does not let through: a browser
// navigation without a session is redirected to loginURL when one is set,
// anything else gets 401 or 403.
func (m *Middleware) refuse(rw http.ResponseWriter, req *http.Request, v verdict) {
	if v == verdictForbidden {
		m.metrics.forbidden.Add(1)
		writeText(rw, http.StatusForbidden, "forbidden: your account lacks a role this resource requires")
		return
	}
	if m.settings.loginURL != "" && isNavigation(req) {
		m.metrics.redirected.Add(1)
		http.Redirect(rw, req, loginRedirect(m.settings.loginURL, req), http.StatusFound)
		return
	}
	m.metrics.unauthorized.Add(1)
	writeText(rw, http.StatusUnauthorized, "unauthorized: sign in first")
}

// isNavigation reports whether the request looks like a browser loading a
// page: GET or HEAD accepting HTML.
func isNavigation(req *http.Request) bool {
	return (req.Method == http.MethodGet || req.Method == http.MethodHead) &&
		strings.Contains(req.Header.Get("Accept"), "text/html")
}

// loginRedirect returns loginURL with the request's absolute URL added as
// the redirect_uri query parameter.
func loginRedirect(loginURL string, req *http.Request) string {
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
	return loginURL + sep + "redirect_uri=" + url.QueryEscape(original)
}

// writeText writes a short plain-text answer.
func writeText(rw http.ResponseWriter, status int, text string) {
	h := rw.Header()
	h.Set("Content-Type", "text/plain; charset=utf-8")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Cache-Control", "no-store")
	rw.WriteHeader(status)
	_, _ = rw.Write([]byte(text + "\n"))
}
