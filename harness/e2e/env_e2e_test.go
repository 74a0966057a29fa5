//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sort"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/traefik-authgear/traefik-authgear/harness/internal/echo"
	"github.com/traefik-authgear/traefik-authgear/harness/internal/harness"
	"github.com/traefik-authgear/traefik-authgear/harness/internal/standin"
)

// publicHost is the Authgear app's public host in testdata/users.json.
const publicHost = "auth.example.test"

// plainRoute is routed to the echo backend without any middleware.
const plainRoute = "/plain/"

// backend is the echo backend, counting the requests that reach it.
type backend struct {
	srv  *httptest.Server
	hits atomic.Int64
}

func newBackend() *backend {
	b := &backend{}
	h := echo.Handler()
	b.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b.hits.Add(1)
		h.ServeHTTP(w, r)
	}))
	return b
}

// resolver is a stand-in resolver on a loopback port.
type resolver struct {
	*standin.Resolver
	srv *httptest.Server
	// URL is the resolve endpoint's URL.
	URL string
}

// newResolver starts a stand-in with testdata/users.json's users, cfg's
// public host and cookie prefix. An empty publicHost means the resolver's
// own address, as if it were reached on its public name.
func newResolver(publicHost, cookiePrefix string) (*resolver, error) {
	cfg, err := loadUsers()
	if err != nil {
		return nil, err
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	cfg.PublicHost = publicHost
	if cfg.PublicHost == "" {
		cfg.PublicHost = l.Addr().String()
	}
	cfg.CookiePrefix = cookiePrefix
	r := &resolver{Resolver: standin.New(cfg)}
	r.srv = &httptest.Server{Listener: l, Config: &http.Server{Handler: r.Resolver}}
	r.srv.Start()
	r.URL = r.srv.URL + standin.PathResolve
	return r, nil
}

// close releases hanging requests, then stops the server.
func (r *resolver) close() {
	r.Resolver.Close()
	r.srv.Close()
}

// loadUsers reads testdata/users.json at the repository root.
func loadUsers() (standin.Config, error) {
	root, err := harness.RepoRoot()
	if err != nil {
		return standin.Config{}, err
	}
	return standin.LoadConfig(filepath.Join(root, "testdata", "users.json"))
}

// closedAddr returns a loopback address nothing listens on.
func closedAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	addr := l.Addr().String()
	return addr, l.Close()
}

// middleware is one plugin middleware of a test environment, with its own
// stand-in resolver (so that call counts and faults are its own) and the
// routes that use it.
type middleware struct {
	name    string
	options []string // plugin options as YAML lines, besides resolverURL and resolverHost
	// routes are path prefixes routed through the middleware to the echo
	// backend; default "/<name>/".
	routes []string
	// cookiePrefix is the stand-in's cookie prefix (the option is in options).
	cookiePrefix string
	// noResolverHost leaves resolverHost out: the plugin then sends the
	// resolver URL's host, which the stand-in does not accept bearer tokens for.
	noResolverHost bool
	// down points resolverURL at a closed port.
	down bool
}

// env is a Traefik with the plugin, an echo backend and stand-in resolvers.
type env struct {
	traefik   *harness.Traefik
	backend   *backend
	resolvers map[string]*resolver // by middleware name
	// resolverURLs are the middlewares' resolverURL, by middleware name.
	resolverURLs map[string]string
	client       *http.Client
}

// startEnv starts the backend, one resolver per middleware and Traefik, and
// waits until every route answers through the plugin.
func startEnv(mws []middleware) (*env, error) {
	return startEnvWith(mws, harness.Options{})
}

// startEnvWith is startEnv with Traefik's options (Dynamic is set here).
func startEnvWith(mws []middleware, o harness.Options) (_ *env, err error) {
	e := &env{backend: newBackend(), resolvers: map[string]*resolver{}, resolverURLs: map[string]string{}}
	defer func() {
		if err != nil {
			e.close()
		}
	}()
	for _, mw := range mws {
		if mw.down {
			addr, err := closedAddr()
			if err != nil {
				return nil, err
			}
			e.resolverURLs[mw.name] = "http://" + addr + standin.PathResolve
			continue
		}
		r, err := newResolver(publicHost, mw.cookiePrefix)
		if err != nil {
			return nil, err
		}
		e.resolvers[mw.name] = r
		e.resolverURLs[mw.name] = r.URL
	}
	o.Dynamic = e.config(mws)
	e.traefik, err = harness.Start(context.Background(), o)
	if err != nil {
		return nil, err
	}
	if err := e.waitRoutes(mws); err != nil {
		return nil, err
	}
	e.client = newClient()
	return e, nil
}

// waitRoutes waits until every route of mws answers through the plugin.
func (e *env) waitRoutes(mws []middleware) error {
	for _, mw := range mws {
		for _, route := range mw.routesOrDefault() {
			if err := e.traefik.WaitRoute(route, 30*time.Second); err != nil {
				return err
			}
		}
	}
	return nil
}

// config renders the dynamic configuration for mws, whose resolvers startEnv
// made: one router per route, and a route without middleware (plainRoute).
func (e *env) config(mws []middleware) string {
	var routers, plugins []string
	for _, mw := range mws {
		opts := append([]string{"resolverURL: " + e.resolverURLs[mw.name]}, mw.options...)
		if !mw.noResolverHost {
			opts = append(opts, "resolverHost: "+publicHost)
		}
		plugins = append(plugins, fmt.Sprintf("    %s:\n      plugin:\n        authgear:\n          %s\n",
			mw.name, strings.Join(opts, "\n          ")))
		for _, route := range mw.routesOrDefault() {
			routers = append(routers, fmt.Sprintf("    r%s:\n      rule: PathPrefix(`%s`)\n      middlewares: [%s]\n      service: echo\n",
				strings.NewReplacer("/", "-").Replace(strings.Trim(route, "/")), route, mw.name))
		}
	}
	routers = append(routers, "    rplain:\n      rule: PathPrefix(`"+plainRoute+"`)\n      service: echo\n")
	sort.Strings(routers)
	var b strings.Builder
	b.WriteString("http:\n  routers:\n" + strings.Join(routers, ""))
	b.WriteString("  middlewares:\n" + strings.Join(plugins, ""))
	fmt.Fprintf(&b, "  services:\n    echo:\n      loadBalancer:\n        servers:\n          - url: %s\n", e.backend.srv.URL)
	return b.String()
}

// newClient returns a client that follows no redirects and keeps no cookies.
func newClient() *http.Client {
	return &http.Client{
		Timeout:       15 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

func (mw middleware) routesOrDefault() []string {
	if len(mw.routes) > 0 {
		return mw.routes
	}
	return []string{"/" + mw.name + "/"}
}

// close stops everything that startEnv started.
func (e *env) close() {
	if e.traefik != nil {
		e.traefik.Stop()
	}
	for _, r := range e.resolvers {
		r.close()
	}
	if e.backend != nil {
		e.backend.srv.Close()
	}
}

// resolver returns the stand-in resolver of a middleware.
func (e *env) resolver(t *testing.T, mw string) *resolver {
	t.Helper()
	r := e.resolvers[mw]
	if r == nil {
		t.Fatalf("no resolver for middleware %q", mw)
	}
	return r
}

// startEnvT starts an environment for one test and stops it at its end.
func startEnvT(t *testing.T, mws []middleware) *env {
	t.Helper()
	e, err := startEnv(mws)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.close)
	return e
}
