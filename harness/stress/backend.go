package main

import (
	"io"
	"net"
	"net/http"
	"sort"
	"strings"
	"sync/atomic"

	"github.com/traefik-authgear/traefik-authgear/harness/internal/echo"
)

// Response headers the backend adds for the client's checks.
const (
	hdrBackend  = "X-Stress-Backend"  // "1" on every answer of the backend
	hdrIdentity = "X-Stress-Identity" // identitySummary of what it received
	hdrControl  = "X-Stress-Control"  // control headers and trailers received
)

// controlPrefix starts the (normalised) names of harmless control headers:
// the backend reports which arrived, to show which ways of sending a header
// reach it at all.
const controlPrefix = "x-stress-control"

// backend is the echo backend behind Traefik. It reads the request body (so
// that trailers arrive), then reports in X-Stress-Identity every identity
// header and trailer it received, in the way a CGI-style backend reads names.
type backend struct {
	srv  *http.Server
	URL  string
	hits atomic.Int64
	echo http.Handler
}

func startBackend() (*backend, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	b := &backend{URL: "http://" + l.Addr().String(), echo: echo.Handler()}
	b.srv = &http.Server{Handler: b}
	go b.srv.Serve(l)
	return b, nil
}

// ServeHTTP reports the identity received, then lets echo answer.
func (b *backend) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b.hits.Add(1)
	_, _ = io.Copy(io.Discard, io.LimitReader(r.Body, 4<<20))
	h := w.Header()
	h.Set(hdrBackend, "1")
	h.Set(hdrIdentity, identitySummary(r.Header, r.Trailer))
	if c := controlsReceived(r); c != "" {
		h.Set(hdrControl, c)
	}
	b.echo.ServeHTTP(w, r)
}

func (b *backend) close() { b.srv.Close() }

// controlsReceived lists the control headers ("header:<name>=<value>") and
// trailers ("trailer:<name>=<value>") of r.
func controlsReceived(r *http.Request) string {
	var out []string
	for name, vs := range r.Header {
		if strings.HasPrefix(normName(name), controlPrefix) {
			out = append(out, "header:"+normName(name)+"="+strings.Join(vs, ","))
		}
	}
	for name, vs := range r.Trailer {
		if strings.HasPrefix(normName(name), controlPrefix) {
			out = append(out, "trailer:"+normName(name)+"="+strings.Join(vs, ","))
		}
	}
	sort.Strings(out)
	return strings.Join(out, ";")
}
