package stack

import (
	"net"

	"github.com/traefik-authgear/traefik-authgear/harness/internal/standin"
)

// StartPublicResolver is StartResolver with the stand-in's own address as
// the app's public host, as when resolverURL is the app's public URL: a
// plugin without resolverHost (the README's snippets) then gets bearer
// tokens resolved.
func StartPublicResolver(cfg standin.Config) (*Resolver, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	cfg.PublicHost = l.Addr().String()
	r := &Resolver{Resolver: standin.New(cfg), addr: cfg.PublicHost, PublicHost: cfg.PublicHost}
	r.URL = "http://" + r.addr + standin.PathResolve
	r.serve(l)
	return r, nil
}
