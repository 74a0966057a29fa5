package main

import (
	"context"
	"crypto/tls"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/traefik-authgear/traefik-authgear/harness/internal/harness"
)

// mwSpec is one plugin middleware, routed at /<name>/ on both entrypoints.
type mwSpec struct {
	name    string
	options []string // YAML lines besides resolverURL and resolverHost
}

// stack is a Traefik with the plugin in front of the backend, the stand-in
// resolver, and a watch on Traefik's output.
type stack struct {
	traefik  *harness.Traefik
	resolver *resolverServer
	backend  *backend
	oracle   *oracle
	logs     *logWatch
	// TLSAddr is the "websecure" entrypoint (TLS, HTTP/2 by ALPN).
	TLSAddr string
	mws     []mwSpec
}

// debugStatic turns on Traefik's debug endpoints (expvar, pprof) on its
// admin entrypoint, for its live heap and goroutine count (runtimeStats). It
// also turns on block and mutex profiling; the flood's throughput was the
// same with and without (within the noise of a shared 2-core machine).
const debugStatic = "api:\n  insecure: true\n  debug: true\n"

// stackOptions are the optional parts of a stack.
type stackOptions struct {
	extraStatic string // e.g. debugStatic
	logLevel    string // Traefik's; default ERROR. DEBUG shows the plugin's stdout (cache size reports)
}

// startStack starts the backend, a resolver and Traefik with mws, and waits
// until every route answers through the plugin.
func startStack(mws []mwSpec) (*stack, error) {
	return startStackWith(mws, stackOptions{})
}

// startStackWith is startStack with options.
func startStackWith(mws []mwSpec, o stackOptions) (_ *stack, err error) {
	cfg, err := loadUsers()
	if err != nil {
		return nil, err
	}
	s := &stack{oracle: newOracle(cfg), logs: &logWatch{}, mws: mws}
	defer func() {
		if err != nil {
			s.close()
		}
	}()
	if s.backend, err = startBackend(); err != nil {
		return nil, err
	}
	if s.resolver, err = startResolver(cfg); err != nil {
		return nil, err
	}
	if s.TLSAddr, err = harness.FreeAddr(); err != nil {
		return nil, err
	}
	s.traefik, err = harness.Start(context.Background(), harness.Options{
		Dynamic:     s.config(mws, ""),
		EntryPoints: map[string]string{"websecure": s.TLSAddr},
		Output:      s.logs,
		ExtraStatic: o.extraStatic,
		LogLevel:    o.logLevel,
	})
	if err != nil {
		return nil, err
	}
	for _, mw := range mws {
		if err := s.traefik.WaitRoute("/"+mw.name+"/ready", 60*time.Second); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// config renders the dynamic configuration: per middleware a router on the
// plain entrypoint and one on the TLS entrypoint, plus extra (YAML router
// entries, indented by four spaces).
func (s *stack) config(mws []mwSpec, extra string) string {
	var routers, plugins []string
	for _, mw := range mws {
		opts := append([]string{"resolverURL: " + s.resolver.URL, "resolverHost: " + publicHost}, mw.options...)
		plugins = append(plugins, fmt.Sprintf("    %s:\n      plugin:\n        authgear:\n          %s\n",
			mw.name, strings.Join(opts, "\n          ")))
		routers = append(routers,
			fmt.Sprintf("    r-%s:\n      rule: PathPrefix(`/%s/`)\n      entryPoints: [web]\n      middlewares: [%s]\n      service: backend\n", mw.name, mw.name, mw.name),
			fmt.Sprintf("    t-%s:\n      rule: PathPrefix(`/%s/`)\n      entryPoints: [websecure]\n      middlewares: [%s]\n      service: backend\n      tls: {}\n", mw.name, mw.name, mw.name))
	}
	routers = append(routers,
		"    r-plain:\n      rule: PathPrefix(`/plain/`)\n      entryPoints: [web]\n      service: backend\n",
		"    t-plain:\n      rule: PathPrefix(`/plain/`)\n      entryPoints: [websecure]\n      service: backend\n      tls: {}\n")
	sort.Strings(routers)
	var b strings.Builder
	b.WriteString("http:\n  routers:\n" + strings.Join(routers, "") + extra)
	b.WriteString("  middlewares:\n" + strings.Join(plugins, ""))
	fmt.Fprintf(&b, "  services:\n    backend:\n      loadBalancer:\n        servers:\n          - url: %s\n", s.backend.URL)
	return b.String()
}

// close stops everything startStack started.
func (s *stack) close() {
	if s.traefik != nil {
		s.traefik.Stop()
	}
	if s.resolver != nil {
		s.resolver.close()
	}
	if s.backend != nil {
		s.backend.close()
	}
}

// url is the plain entrypoint's URL for a path.
func (s *stack) url(path string) string { return s.traefik.URL + path }

// rss returns Traefik's resident memory, 0 when it cannot be read.
func (s *stack) rss() int64 {
	n, err := s.traefik.RSS()
	if err != nil {
		return 0
	}
	return n
}

// newClient returns an HTTP/1.1 client with up to conns kept-alive
// connections, no redirects, no proxy, no cookie jar.
func newClient(conns int) *http.Client {
	return &http.Client{
		Timeout: 15 * time.Second,
		Transport: &http.Transport{
			Proxy:               nil,
			MaxIdleConns:        conns,
			MaxIdleConnsPerHost: conns,
			MaxConnsPerHost:     conns,
			IdleConnTimeout:     30 * time.Second,
			DisableCompression:  true,
		},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// newTLSClient returns a client that speaks HTTP/2 over TLS to Traefik's
// default (self-signed) certificate.
func newTLSClient() *http.Client {
	return &http.Client{
		Timeout: 15 * time.Second,
		Transport: &http.Transport{
			Proxy:             nil,
			TLSClientConfig:   &tls.Config{InsecureSkipVerify: true}, //nolint:gosec // Traefik's default certificate, loopback only
			ForceAttemptHTTP2: true,
		},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// health records whether Traefik is still running and logged no panic.
func (s *stack) health(rep *report, part string) {
	n, first := s.logs.panicCount()
	value := count(int64(n))
	if n > 0 {
		value += ": " + strings.Join(first, " / ")
	}
	rep.check(part, "panics in Traefik's log", value, "0", n == 0)
	select {
	case <-s.traefik.Exited():
		rep.check(part, "Traefik still running at the end", "no: it exited", "yes", false)
	default:
	}
}
