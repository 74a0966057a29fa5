// Package stack is the one set-up every scenario of the harness (e2e tests,
// stress, benchmarks, demo) runs on: stand-in resolvers, the echo backend and
// a real Traefik with the plugin, started and stopped together.
package stack

import (
	"cmp"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"maps"
	"math/big"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/traefik-authgear/traefik-authgear/harness/internal/echo"
	"github.com/traefik-authgear/traefik-authgear/harness/internal/harness"
	"github.com/traefik-authgear/traefik-authgear/harness/internal/standin"
)

// PublicHost is the public host of the Authgear app in testdata/users.json,
// which the plugin sends to the stand-in as its resolverHost.
const PublicHost = "auth.example.test"

// Middleware is one middleware of the dynamic configuration.
type Middleware struct {
	Name string
	// Options are the plugin's; resolverURL and resolverHost are filled in.
	Options map[string]any
	// Body, when set, is the whole definition instead of the plugin.
	Body map[string]any
	// OwnResolver gives the middleware a stand-in of its own (Stack.Resolvers).
	OwnResolver bool
	// CookiePrefix is the own stand-in's cookie prefix.
	CookiePrefix string
	// NoResolverHost leaves resolverHost out.
	NoResolverHost bool
	// ResolverDown points resolverURL at a closed port.
	ResolverDown bool
	// TLSResolver, when set, gives the middleware a stand-in of its own
	// (Stack.Resolvers) served over TLS, HTTP/2 by ALPN, as Authgear's public
	// endpoints are; the plugin trusts its certificate through tls.ca.
	TLSResolver *TLSResolver
}

// TLSResolver shapes a middleware's own TLS stand-in.
type TLSResolver struct {
	// MaxHeaderBytes is its http.Server.MaxHeaderBytes (0: Go's 1 MiB). Go's
	// HTTP/2 server advertises it plus 320 bytes (ten fields' overhead) as
	// SETTINGS_MAX_HEADER_LIST_SIZE, and Go's HTTP/2 client refuses to send
	// a request over the peer's limit: a small value reproduces an ingress
	// with a small header limit.
	MaxHeaderBytes int
}

// Route is one router to the backend.
type Route struct {
	// Prefix is the PathPrefix rule; default "/".
	Prefix string
	// EntryPoints default to Traefik's own choice (every entrypoint).
	EntryPoints []string
	Middlewares []string
	// TLS serves the route with Traefik's default certificate.
	TLS bool
}

// Options say what a stack runs.
type Options struct {
	Middlewares []Middleware
	// Routes default to DefaultRoutes.
	Routes []Route
	// ResolverURL is an external resolver for the middlewares without one of
	// their own (empty: a stand-in with Users); ResolverHost goes with it.
	ResolverURL, ResolverHost string
	// Users configure the in-process stand-ins; default Users().
	Users *standin.Config
	// BackendURL is an external backend; empty: Backend in process.
	BackendURL string
	// Echo are the in-process echo backend's options (the demo's verifies
	// the signed identity).
	Echo echo.Options
	// Backend wraps the in-process echo backend (nil: echo as it is).
	Backend func(echo http.Handler) http.Handler
	// Traefik are the process's options; Dynamic is the stack's.
	Traefik harness.Options
	// Wait is how long to wait for each route; default 60 s.
	Wait time.Duration
}

// PlainRoute is routed to the backend without any middleware by default.
const PlainRoute = "/plain/"

// Stack is a running set-up.
type Stack struct {
	Traefik *harness.Traefik
	// Resolver is the shared in-process stand-in (nil with ResolverURL).
	Resolver *Resolver
	// Resolvers are the own stand-ins, by middleware name.
	Resolvers map[string]*Resolver
	// Backend is the in-process backend (nil with BackendURL).
	Backend *Backend
	// ResolverURLs are the middlewares' resolverURL, by name.
	ResolverURLs map[string]string

	opts          Options
	resolverHosts map[string]string // by middleware name
	closers       []func()
}

// Start starts the resolvers, the backend and Traefik, and waits until every
// route answers through its middlewares.
func Start(ctx context.Context, o Options) (_ *Stack, err error) {
	s := &Stack{Resolvers: map[string]*Resolver{}, ResolverURLs: map[string]string{}, resolverHosts: map[string]string{}, opts: o}
	defer func() {
		if err != nil {
			s.Stop()
		}
	}()
	if err := s.startServers(); err != nil {
		return nil, err
	}
	o.Traefik.Dynamic = s.Dynamic(o.Middlewares, o.Routes)
	if s.Traefik, err = harness.Start(ctx, o.Traefik); err != nil {
		return nil, err
	}
	return s, s.WaitRoutes(o.Routes, o.Middlewares)
}

// startServers starts the backend and every stand-in the options ask for.
func (s *Stack) startServers() error {
	o := s.opts
	if o.BackendURL == "" {
		var err error
		if s.Backend, err = startBackend(echo.HandlerWith(o.Echo), o.Backend); err != nil {
			return err
		}
		s.closers = append(s.closers, s.Backend.close)
		s.opts.BackendURL = s.Backend.URL
	}
	shared, sharedHost := o.ResolverURL, o.ResolverHost
	for _, mw := range o.Middlewares {
		if mw.Body != nil {
			continue
		}
		url, host := shared, sharedHost
		switch {
		case mw.ResolverDown:
			addr, err := harness.FreeAddr()
			if err != nil {
				return err
			}
			url, host = "http://"+addr+standin.PathResolve, PublicHost
		case mw.OwnResolver, mw.TLSResolver != nil:
			r, err := s.startResolver(mw.CookiePrefix, mw.TLSResolver)
			if err != nil {
				return err
			}
			s.Resolvers[mw.Name], url, host = r, r.URL, r.PublicHost
		case shared == "":
			r, err := s.startResolver("", nil)
			if err != nil {
				return err
			}
			s.Resolver, shared, sharedHost = r, r.URL, r.PublicHost
			url, host = shared, sharedHost
		}
		s.ResolverURLs[mw.Name], s.resolverHosts[mw.Name] = url, host
	}
	return nil
}

// startResolver starts an in-process stand-in for the stack's users, over
// TLS when t is set; Stop closes it.
func (s *Stack) startResolver(cookiePrefix string, t *TLSResolver) (*Resolver, error) {
	var cfg standin.Config
	var err error
	if s.opts.Users != nil {
		cfg = *s.opts.Users
	} else if cfg, err = Users(); err != nil {
		return nil, err
	}
	cfg.CookiePrefix = cookiePrefix
	var r *Resolver
	if t != nil {
		r, err = startTLSResolver(cfg, *t)
	} else {
		r, err = startResolver(cfg, false)
	}
	if err == nil {
		s.closers = append(s.closers, r.Close)
	}
	return r, err
}

// Users reads testdata/users.json at the repository root, with PublicHost.
func Users() (standin.Config, error) {
	root, err := harness.RepoRoot()
	if err != nil {
		return standin.Config{}, err
	}
	cfg, err := standin.LoadConfig(filepath.Join(root, "testdata", "users.json"))
	cfg.PublicHost = PublicHost
	return cfg, err
}

// Reload writes a new dynamic configuration (the stand-ins stay; a new
// middleware gets the shared one) and waits for its routes.
func (s *Stack) Reload(mws []Middleware, routes []Route) error {
	for _, mw := range mws {
		if _, ok := s.ResolverURLs[mw.Name]; !ok && mw.Body == nil {
			if s.Resolver == nil && s.opts.ResolverURL == "" {
				return errors.New("stack: a reload can add a middleware only when the stack has a shared resolver")
			}
			s.ResolverURLs[mw.Name], s.resolverHosts[mw.Name] = s.opts.ResolverURL, s.opts.ResolverHost
			if s.Resolver != nil {
				s.ResolverURLs[mw.Name], s.resolverHosts[mw.Name] = s.Resolver.URL, s.Resolver.PublicHost
			}
		}
	}
	if err := s.Traefik.WriteDynamic(s.Dynamic(mws, routes)); err != nil {
		return err
	}
	return s.WaitRoutes(routes, mws)
}

// WaitRoutes waits until every plain-HTTP route answers through its
// middlewares (TLS routes share their middlewares with a plain one).
func (s *Stack) WaitRoutes(routes []Route, mws []Middleware) error {
	if routes == nil {
		routes = DefaultRoutes(mws)
	}
	wait := cmp.Or(s.opts.Wait, 60*time.Second)
	for _, r := range routes {
		if r.TLS {
			continue
		}
		ep := "web"
		if len(r.EntryPoints) > 0 {
			ep = r.EntryPoints[0]
		}
		url := s.Traefik.URL
		if addr, ok := s.opts.Traefik.EntryPoints[ep]; ok {
			url = "http://" + addr
		}
		url += strings.TrimSuffix(cmp.Or(r.Prefix, "/"), "/") + "/"
		if err := s.Traefik.WaitRequest(func() *http.Request {
			req, _ := http.NewRequest(http.MethodGet, url, nil)
			return req
		}, wait); err != nil {
			return err
		}
	}
	return nil
}

// URL is the web entrypoint's URL of a path.
func (s *Stack) URL(path string) string { return s.Traefik.URL + path }

// Stop stops Traefik, then the servers. It is safe to call more than once.
func (s *Stack) Stop() {
	if s.Traefik != nil {
		s.Traefik.Stop()
	}
	for i := len(s.closers) - 1; i >= 0; i-- {
		s.closers[i]()
	}
	s.closers = nil
}

// Dynamic renders the file provider's configuration for mws and routes
// (DefaultRoutes when routes is nil): every router goes to the backend.
func (s *Stack) Dynamic(mws []Middleware, routes []Route) string {
	if routes == nil {
		routes = DefaultRoutes(mws)
	}
	routers := map[string]any{}
	for i, r := range routes {
		router := map[string]any{
			"rule":    fmt.Sprintf("PathPrefix(`%s`)", cmp.Or(r.Prefix, "/")),
			"service": "backend",
		}
		if len(r.EntryPoints) > 0 {
			router["entryPoints"] = r.EntryPoints
		}
		if len(r.Middlewares) > 0 {
			router["middlewares"] = r.Middlewares
		}
		if r.TLS {
			router["tls"] = map[string]any{}
		}
		routers[fmt.Sprintf("r%02d-%s", i, strings.Trim(strings.ReplaceAll(cmp.Or(r.Prefix, "/"), "/", "-"), "-"))] = router
	}
	middlewares := map[string]any{}
	for _, mw := range mws {
		middlewares[mw.Name] = s.middlewareBody(mw)
	}
	http := map[string]any{
		"routers":  routers,
		"services": map[string]any{"backend": map[string]any{"loadBalancer": map[string]any{"servers": []any{map[string]any{"url": s.opts.BackendURL}}}}},
	}
	if len(middlewares) > 0 {
		http["middlewares"] = middlewares
	}
	out, err := yaml.Marshal(map[string]any{"http": http})
	if err != nil {
		panic(err) // maps of strings, lists and maps always marshal
	}
	return string(out)
}

// middlewareBody is a middleware's definition: Body, or the plugin with its
// options and the resolver the stack gave it.
func (s *Stack) middlewareBody(mw Middleware) map[string]any {
	if mw.Body != nil {
		return mw.Body
	}
	opts := map[string]any{}
	if r := s.Resolvers[mw.Name]; r != nil && r.CertPEM != "" {
		opts["tls"] = map[string]any{"ca": r.CertPEM} // Options may replace it
	}
	if url := s.ResolverURLs[mw.Name]; url != "" {
		opts["resolverURL"] = url
	}
	if host := s.resolverHosts[mw.Name]; host != "" && !mw.NoResolverHost {
		opts["resolverHost"] = host
	}
	maps.Copy(opts, mw.Options)
	return map[string]any{"plugin": map[string]any{"authgear": opts}}
}

// DefaultRoutes are a route at /<name>/ for each plugin middleware and
// PlainRoute without middleware.
func DefaultRoutes(mws []Middleware) []Route {
	var routes []Route
	for _, mw := range mws {
		if mw.Body == nil {
			routes = append(routes, Route{Prefix: "/" + mw.Name + "/", Middlewares: []string{mw.Name}})
		}
	}
	return append(routes, Route{Prefix: PlainRoute})
}

// ForwardAuth is Traefik's ForwardAuth configured the way Authgear's Traefik
// guide does: every X-Authgear-* header of the answer is copied.
func ForwardAuth(resolverURL string) map[string]any {
	return map[string]any{"forwardAuth": map[string]any{"address": resolverURL, "authResponseHeadersRegex": "^X-Authgear-"}}
}

// Resolver is a stand-in resolver on a fixed loopback address that can stop
// listening (connections refused) and listen again.
type Resolver struct {
	*standin.Resolver
	// URL is the resolve endpoint's URL.
	URL string
	// PublicHost is the Authgear app's public host the stand-in expects.
	PublicHost string
	// CertPEM is the certificate of a TLS stand-in (self-signed, for
	// 127.0.0.1), to be trusted as a CA; empty over plain HTTP.
	CertPEM string

	addr string
	// tls and maxHeaderBytes shape every server serve starts (tls nil: plain HTTP).
	tls            *tls.Config
	maxHeaderBytes int
	mu             sync.Mutex // protects srv
	srv            *http.Server
}

// StartPublicResolver serves a stand-in with cfg on a free loopback port, its
// own address as the app's public host, as when resolverURL is the app's
// public URL: a plugin without resolverHost (the README's snippets) then gets
// bearer tokens resolved.
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
	srv := &http.Server{Handler: r.Resolver, MaxHeaderBytes: r.maxHeaderBytes}
	r.mu.Lock()
	r.srv = srv
	r.mu.Unlock()
	if r.tls == nil {
		go srv.Serve(l)
		return
	}
	srv.TLSConfig = r.tls.Clone() // ServeTLS adds "h2" to its NextProtos
	go srv.ServeTLS(l, "", "")
}

// startTLSResolver serves a stand-in with cfg over TLS (HTTP/2 and
// HTTP/1.1 by ALPN) on a free loopback port, with a new self-signed
// certificate for 127.0.0.1 (Resolver.CertPEM).
func startTLSResolver(cfg standin.Config, t TLSResolver) (*Resolver, error) {
	cert, certPEM, err := selfSignedLoopbackCert()
	if err != nil {
		return nil, err
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	addr := l.Addr().String()
	r := &Resolver{Resolver: standin.New(cfg), URL: "https://" + addr + standin.PathResolve, PublicHost: cfg.PublicHost,
		CertPEM: certPEM, addr: addr, maxHeaderBytes: t.MaxHeaderBytes,
		tls: &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}}
	r.serve(l)
	return r, nil
}

// selfSignedLoopbackCert returns a new ECDSA certificate for 127.0.0.1 and
// localhost, valid for a day, that is its own CA, and its PEM.
func selfSignedLoopbackCert() (tls.Certificate, string, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, "", err
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(now.UnixNano()),
		Subject:               pkix.Name{CommonName: "traefik-authgear stand-in resolver"},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1)},
		DNSNames:              []string{"localhost"},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return tls.Certificate{}, "", err
	}
	pemText := string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, pemText, nil
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

// startBackend serves h, the echo backend (wrapped by wrap, if not nil), on
// a free port.
func startBackend(h http.Handler, wrap func(http.Handler) http.Handler) (*Backend, error) {
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
