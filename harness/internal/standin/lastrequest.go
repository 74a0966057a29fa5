package standin

import (
	"net/http"
	"net/url"
)

// snapshot is what LastRequest can tell about a resolve request. The request
// itself must not be kept past ServeHTTP, so its parts are copied.
type snapshot struct {
	method, host, proto, requestURI, remoteAddr string
	protoMajor, protoMinor                      int
	url                                         url.URL
	header                                      http.Header
}

// record keeps a copy of req for LastRequest: one header clone per request.
func (r *Resolver) record(req *http.Request) {
	s := &snapshot{
		method:     req.Method,
		host:       req.Host,
		proto:      req.Proto,
		protoMajor: req.ProtoMajor,
		protoMinor: req.ProtoMinor,
		requestURI: req.RequestURI,
		remoteAddr: req.RemoteAddr,
		url:        *req.URL,
		header:     req.Header.Clone(),
	}
	r.last.Store(s)
}

// LastRequest returns a copy of the last resolve request received (method,
// URL, Host, headers, remote address; no body, background context), or nil
// when none was received. Each call returns a fresh copy the caller may change.
func (r *Resolver) LastRequest() *http.Request {
	s := r.last.Load()
	if s == nil {
		return nil
	}
	u := s.url
	if u.User != nil {
		ui := *u.User
		u.User = &ui
	}
	return &http.Request{
		Method:     s.method,
		URL:        &u,
		Proto:      s.proto,
		ProtoMajor: s.protoMajor,
		ProtoMinor: s.protoMinor,
		Header:     s.header.Clone(),
		Body:       http.NoBody,
		Host:       s.host,
		RemoteAddr: s.remoteAddr,
		RequestURI: s.requestURI,
	}
}
