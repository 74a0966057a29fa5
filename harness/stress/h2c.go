//go:build go1.24

package main

import (
	"net/http"
	"time"
)

// newH2CClient returns a client that speaks HTTP/2 without TLS (prior
// knowledge), which Traefik's plain entrypoints accept.
func newH2CClient() *http.Client {
	var p http.Protocols
	p.SetUnencryptedHTTP2(true)
	return &http.Client{
		Timeout:       15 * time.Second,
		Transport:     &http.Transport{Proxy: nil, Protocols: &p},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}
