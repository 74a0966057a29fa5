package main

import (
	"net"
	"net/http"
	"sync"

	"github.com/traefik-authgear/traefik-authgear/harness/internal/standin"
)

// resolverServer is the stand-in resolver on a fixed loopback address that
// can stop listening (connections refused) and listen again.
type resolverServer struct {
	*standin.Resolver
	addr string
	// URL is the resolve endpoint's URL.
	URL string

	mu  sync.Mutex // protects srv
	srv *http.Server
}

func startResolver(cfg standin.Config) (*resolverServer, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	r := &resolverServer{Resolver: standin.New(cfg), addr: l.Addr().String()}
	r.URL = "http://" + r.addr + standin.PathResolve
	r.serve(l)
	return r, nil
}

func (r *resolverServer) serve(l net.Listener) {
	srv := &http.Server{Handler: r.Resolver}
	r.mu.Lock()
	r.srv = srv
	r.mu.Unlock()
	go srv.Serve(l)
}

// stopListening closes the listener and every connection: new calls are
// refused until listen.
func (r *resolverServer) stopListening() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.srv != nil {
		r.srv.Close()
		r.srv = nil
	}
}

// listen serves again on the same address.
func (r *resolverServer) listen() error {
	l, err := net.Listen("tcp", r.addr)
	if err != nil {
		return err
	}
	r.serve(l)
	return nil
}

func (r *resolverServer) close() {
	r.Resolver.Close()
	r.stopListening()
}
