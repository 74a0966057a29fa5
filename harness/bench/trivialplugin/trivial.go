// Package trivial is the benchmark's floor: a Traefik plugin that sets one
// request header and calls next, nothing else, so that its cost is what any
// plugin interpreted by Yaegi pays.
package trivial

import (
	"context"
	"net/http"
)

// Config is empty.
type Config struct{}

// CreateConfig returns the empty configuration.
func CreateConfig() *Config { return &Config{} }

// Trivial is the handler.
type Trivial struct {
	next http.Handler
}

// New returns the handler.
func New(ctx context.Context, next http.Handler, config *Config, name string) (http.Handler, error) {
	return &Trivial{next: next}, nil
}

// ServeHTTP sets one header and calls next.
func (t *Trivial) ServeHTTP(rw http.ResponseWriter, req *http.Request) {
	req.Header.Set("X-Trivial", "1")
	t.next.ServeHTTP(rw, req)
}
