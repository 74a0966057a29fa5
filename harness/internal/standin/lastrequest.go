package standin

import (
	"context"
	"net/http"
)

// record keeps a copy of req for LastRequest: the request itself must not be
// kept past ServeHTTP, so its clone, without the body.
func (r *Resolver) record(req *http.Request) {
	c := req.Clone(context.Background())
	c.Body = http.NoBody
	r.last.Store(c)
}

// LastRequest returns a copy of the last resolve request received (method,
// URL, Host, headers, remote address; no body, background context), or nil
// when none was received. Each call returns a fresh copy the caller may change.
func (r *Resolver) LastRequest() *http.Request {
	if last := r.last.Load(); last != nil {
		return last.Clone(context.Background())
	}
	return nil
}
