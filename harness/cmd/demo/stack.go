package main

import (
	"io"
	"time"

	"github.com/traefik-authgear/traefik-authgear/harness/internal/harness"
	"github.com/traefik-authgear/traefik-authgear/harness/internal/stack"
)

// settings say what the demo runs against.
type settings struct {
	addr         string // Traefik's entrypoint
	resolverURL  string // a real Authgear's resolve endpoint; empty: the stand-in
	resolverHost string // resolverHost for a real Authgear; may be empty
	traefikOut   io.Writer
}

// options are the demo's stack: every path through the "authgear"
// middleware, /admin through "authgear-admin", which also requires the admin
// role; the stand-in with testdata/users.json unless a real Authgear is set.
func options(s settings, traefikBin string) stack.Options {
	return stack.Options{
		Middlewares: []stack.Middleware{
			{Name: "authgear", Options: map[string]any{"cacheTTL": "60s"}},
			{Name: "authgear-admin", Options: map[string]any{"cacheTTL": "60s", "allowedRoles": []string{"admin"}}},
		},
		Routes: []stack.Route{
			{Prefix: "/", Middlewares: []string{"authgear"}},
			{Prefix: "/admin", Middlewares: []string{"authgear-admin"}},
		},
		ResolverURL:  s.resolverURL,
		ResolverHost: s.resolverHost,
		Traefik:      harness.Options{Binary: traefikBin, EntryAddr: s.addr, Output: s.traefikOut},
		Wait:         30 * time.Second,
	}
}
