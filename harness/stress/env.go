package main

import (
	"context"
	"net/http"
	"time"

	"github.com/traefik-authgear/traefik-authgear/harness/internal/harness"
	"github.com/traefik-authgear/traefik-authgear/harness/internal/stack"
)

// env is a part's stack (internal/stack, its backend reporting the identity
// it received), the oracle of the identities due, and a watch on Traefik's output.
type env struct {
	*stack.Stack
	identity oracle
	logs     *logWatch
	// tlsURL is the "websecure" entrypoint's URL (TLS, HTTP/2 by ALPN).
	tlsURL string
}

// startEnv starts a stack with Traefik options t and mws, each routed at
// /<name>/ on the plain and the TLS entrypoint (and stack.PlainRoute).
func startEnv(t harness.Options, mws ...stack.Middleware) (*env, error) {
	cfg, err := stack.Users()
	if err != nil {
		return nil, err
	}
	addr, err := harness.FreeAddr()
	if err != nil {
		return nil, err
	}
	e := &env{identity: newOracle(cfg), logs: &logWatch{}, tlsURL: "https://" + addr}
	t.EntryPoints, t.Output = map[string]string{"websecure": addr}, e.logs
	e.Stack, err = stack.Start(context.Background(), stack.Options{Middlewares: mws, Routes: routes(mws), Users: &cfg, Backend: reportIdentity, Traefik: t})
	return e, err
}

// routes are stack.DefaultRoutes, each on both entrypoints.
func routes(mws []stack.Middleware, extra ...stack.Route) []stack.Route {
	var out []stack.Route
	for _, r := range stack.DefaultRoutes(mws) {
		plain := r
		plain.EntryPoints = []string{"web"}
		r.EntryPoints, r.TLS = []string{"websecure"}, true
		out = append(out, plain, r)
	}
	return append(out, extra...)
}

// rss returns Traefik's resident memory, 0 when it cannot be read.
func (e *env) rss() int64 {
	n, _ := e.Traefik.RSS()
	return n
}

// health records whether Traefik is still running and logged no panic.
func (e *env) health(rep *report, part string) {
	panics := e.logs.panicLines()
	rep.check(part, "panics in Traefik's log", panics.String(), "0", panics.n == 0)
	select {
	case <-e.Traefik.Exited():
		rep.check(part, "Traefik still running at the end", "no: it exited", "yes", false)
	default:
	}
}

// newClient returns a client over t without redirects, proxy or cookie jar.
func newClient(t *http.Transport) *http.Client {
	return &http.Client{Timeout: 15 * time.Second, Transport: t,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// h1Client speaks HTTP/1.1 on up to conns kept-alive connections.
func h1Client(conns int) *http.Client {
	return newClient(&http.Transport{MaxIdleConns: conns, MaxIdleConnsPerHost: conns, MaxConnsPerHost: conns,
		IdleConnTimeout: 30 * time.Second, DisableCompression: true})
}
