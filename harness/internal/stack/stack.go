// Package stack is the one set-up every scenario of the harness (e2e tests,
// stress, benchmarks, demo) runs on: stand-in resolvers, the echo backend and
// a real Traefik with the plugin, started and stopped together.
package stack

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"path/filepath"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/traefik-authgear/traefik-authgear/harness/internal/harness"
	"github.com/traefik-authgear/traefik-authgear/harness/internal/standin"
)

// PublicHost is the public host of the Authgear app in testdata/users.json,
// which the plugin sends to the stand-in as its resolverHost.
const PublicHost = "auth.example.test"

// Middleware is one middleware of the dynamic configuration.
type Middleware struct {
	// Name is the middleware's name in Traefik.
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
}

// Route is one router to the backend.
type Route struct {
	// Prefix is the PathPrefix rule; default "/".
	Prefix string
	// EntryPoints default to Traefik's own choice (every entrypoint).
	EntryPoints []string
	// Middlewares are applied in order.
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
	backendURL := o.BackendURL
	if backendURL == "" {
		var err error
		if s.Backend, err = startBackend(o.Backend); err != nil {
			return err
		}
		s.closers = append(s.closers, s.Backend.close)
		backendURL = s.Backend.URL
	}
	s.opts.BackendURL = backendURL
	shared, sharedHost := o.ResolverURL, o.ResolverHost
	for _, mw := range o.Middlewares {
		if mw.Body != nil {
			continue
		}
		switch {
		case mw.ResolverDown:
			addr, err := harness.FreeAddr()
			if err != nil {
				return err
			}
			s.ResolverURLs[mw.Name] = "http://" + addr + standin.PathResolve
			s.resolverHosts[mw.Name] = PublicHost
		case mw.OwnResolver:
			r, err := s.startResolver(mw.CookiePrefix)
			if err != nil {
				return err
			}
			s.Resolvers[mw.Name] = r
			s.ResolverURLs[mw.Name] = r.URL
			s.resolverHosts[mw.Name] = r.PublicHost
		default:
			if shared == "" {
				r, err := s.startResolver("")
				if err != nil {
					return err
				}
				s.Resolver, shared, sharedHost = r, r.URL, r.PublicHost
			}
			s.ResolverURLs[mw.Name] = shared
			s.resolverHosts[mw.Name] = sharedHost
		}
	}
	return nil
}

// startResolver starts an in-process stand-in for the stack's users with the
// given cookie prefix; Stop closes it.
func (s *Stack) startResolver(cookiePrefix string) (*Resolver, error) {
	var cfg standin.Config
	var err error
	if s.opts.Users != nil {
		cfg = *s.opts.Users
	} else if cfg, err = Users(); err != nil {
		return nil, err
	}
	cfg.CookiePrefix = cookiePrefix
	r, err := StartResolver(cfg)
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
		url := s.EntryPointURL(ep) + strings.TrimSuffix(cmp.Or(r.Prefix, "/"), "/") + "/"
		if err := s.Traefik.WaitRequest(func() *http.Request {
			req, _ := http.NewRequest(http.MethodGet, url, nil)
			return req
		}, wait); err != nil {
			return err
		}
	}
	return nil
}

// EntryPointURL is http://<address> of an entrypoint ("web" is Traefik.URL).
func (s *Stack) EntryPointURL(name string) string {
	if addr, ok := s.opts.Traefik.EntryPoints[name]; ok {
		return "http://" + addr
	}
	return s.Traefik.URL
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
