// Package hello is a minimal Traefik middleware plugin that the harness's
// tests load in place of the real plugin.
package hello

import (
	"context"
	"net/http"
)

// Config is the plugin configuration.
type Config struct {
	Greeting string
}

// CreateConfig returns the default configuration.
func CreateConfig() *Config { return &Config{Greeting: "hello"} }

type hello struct {
	next     http.Handler
	greeting string
}

// New returns the middleware.
func New(ctx context.Context, next http.Handler, config *Config, name string) (http.Handler, error) {
	return &hello{next: next, greeting: config.Greeting}, nil
}

func (h *hello) ServeHTTP(rw http.ResponseWriter, req *http.Request) {
	req.Header.Set("X-Hello", h.greeting)
	h.next.ServeHTTP(rw, req)
}
