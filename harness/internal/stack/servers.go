package stack

import (
	"net"
	"net/http"
	"sync"
	"sync/atomic"

	"github.com/traefik-authgear/traefik-authgear/harness/internal/echo"
	"github.com/traefik-authgear/traefik-authgear/harness/internal/standin"
)

// Resolver is a stand-in resolver on a fixed loopback address that can stop
// listening (connections refused) and listen again.
type Resolver struct {
	*standin.Resolver
	// URL is the resolve endpoint's URL.
	URL string
	// PublicHost is the Authgear app's public host the stand-in expects.
	PublicHost string

	addr string
	mu   sync.Mutex // protects srv
	srv  *http.Server
}

// StartResolver serves a stand-in with cfg on a free loopback port.
func StartResolver(cfg standin.Config) (*Resolver, error) { return startResolver(cfg, false) }

// StartPublicResolver is StartResolver with the stand-in's own address as
// the app's public host, as when resolverURL is the app's public URL: a
// plugin without resolverHost (the README's snippets) then gets bearer
// tokens resolved.
func StartPublicResolver(cfg standin.Config) (*Resolver, error) { return startResolver(cfg, true) }

func startResolver(cfg standin.Config, public bool) (*Resolver, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	addr := l.Addr().String()
	if public {
		cfg.PublicHost = addr
	}
	r := &Resolver{Resolver: standin.New(cfg), URL: "http://" + addr + standin.PathResolve, PublicHost: cfg.PublicHost, addr: addr}
	r.serve(l)
	return r, nil
}

func (r *Resolver) serve(l net.Listener) {
	srv := &http.Server{Handler: r.Resolver}
	r.mu.Lock()
	r.srv = srv
	r.mu.Unlock()
	go srv.Serve(l)
}

// StopListening closes the listener and every connection: new calls are
// refused until Listen.
func (r *Resolver) StopListening() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.srv != nil {
		r.srv.Close()
		r.srv = nil
	}
}

// Listen serves again on the same address.
func (r *Resolver) Listen() error {
	l, err := net.Listen("tcp", r.addr)
	if err != nil {
		return err
	}
	r.serve(l)
	return nil
}

// Close releases hanging requests, then stops serving.
func (r *Resolver) Close() {
	r.Resolver.Close()
	r.StopListening()
}

// Backend is the echo backend in process, counting the requests that reach it.
type Backend struct {
	// URL is the backend's base URL.
	URL string
	// Hits counts the requests it received.
	Hits atomic.Int64
	srv  *http.Server
}

// startBackend serves echo (wrapped by wrap, if not nil) on a free port.
func startBackend(wrap func(http.Handler) http.Handler) (*Backend, error) {
	h := echo.Handler()
	if wrap != nil {
		h = wrap(h)
	}
	b := &Backend{}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	b.URL = "http://" + l.Addr().String()
	b.srv = &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b.Hits.Add(1)
		h.ServeHTTP(w, r)
	})}
	go b.srv.Serve(l)
	return b, nil
}

func (b *Backend) close() { b.srv.Close() }
