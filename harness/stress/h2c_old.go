//go:build !go1.24

package main

import "net/http"

// newH2CClient returns nil: before Go 1.24 the standard library has no
// HTTP/2 client without TLS, and the h2c variants are skipped.
func newH2CClient() *http.Client { return nil }
