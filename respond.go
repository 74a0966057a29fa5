package authgear

import "net/http"

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

// writeText writes a short plain-text answer.
func writeText(rw http.ResponseWriter, status int, text string) {
	h := rw.Header()
	h.Set("Content-Type", "text/plain; charset=utf-8")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Cache-Control", "no-store")
	rw.WriteHeader(status)
	_, _ = rw.Write([]byte(text + "\n"))
}
