package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"time"

	"github.com/traefik-authgear/traefik-authgear/harness/internal/echo"
	"github.com/traefik-authgear/traefik-authgear/harness/internal/harness"
	"github.com/traefik-authgear/traefik-authgear/harness/internal/standin"
)

// standinPublicHost is the public host of the stand-in's Authgear app: the
// plugin sends it as Host and X-Forwarded-Host (resolverHost), since the
// stand-in is reached on a loopback port, as a cluster-internal Authgear is.
const standinPublicHost = "auth.example.test"

// settings say what the demo runs against.
type settings struct {
	addr         string // Traefik's entrypoint
	resolverURL  string // a real Authgear's resolve endpoint; empty: the stand-in
	resolverHost string // resolverHost for a real Authgear; may be empty
	traefikOut   io.Writer
}

// stack is everything the demo started.
type stack struct {
	traefik *harness.Traefik
	closers []func()
}

// start starts the stand-in resolver (unless a real Authgear is configured),
// the echo backend and Traefik with the plugin, and waits until the routes
// answer through the plugin.
func start(ctx context.Context, s settings, traefikBin string) (_ *stack, err error) {
	st := &stack{}
	defer func() {
		if err != nil {
			st.stop()
		}
	}()
	resolverURL, resolverHost := s.resolverURL, s.resolverHost
	if resolverURL == "" {
		root, err := harness.RepoRoot()
		if err != nil {
			return nil, err
		}
		cfg, err := standin.LoadConfig(filepath.Join(root, "testdata", "users.json"))
		if err != nil {
			return nil, err
		}
		cfg.PublicHost = standinPublicHost
		r := standin.New(cfg)
		st.closers = append(st.closers, r.Close)
		addr, err := st.serve(r)
		if err != nil {
			return nil, err
		}
		resolverURL = "http://" + addr + standin.PathResolve
		resolverHost = standinPublicHost
	}
	backendAddr, err := st.serve(echo.Handler())
	if err != nil {
		return nil, err
	}
	st.traefik, err = harness.Start(ctx, harness.Options{
		Binary:    traefikBin,
		EntryAddr: s.addr,
		Dynamic:   dynamicConfig(resolverURL, resolverHost, "http://"+backendAddr),
		Output:    s.traefikOut,
	})
	if err != nil {
		return nil, err
	}
	for _, path := range []string{"/", "/admin"} {
		if err := st.traefik.WaitRoute(path, 30*time.Second); err != nil {
			return nil, err
		}
	}
	return st, nil
}

// serve runs h on a free loopback port and returns the address.
func (st *stack) serve(h http.Handler) (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(l)
	st.closers = append(st.closers, func() { srv.Close() })
	return l.Addr().String(), nil
}

// stop stops Traefik, then the servers.
func (st *stack) stop() {
	if st.traefik != nil {
		st.traefik.Stop()
	}
	for i := len(st.closers) - 1; i >= 0; i-- {
		st.closers[i]()
	}
}

// dynamicConfig is the demo's Traefik configuration: every path through the
// "authgear" middleware, /admin through "authgear-admin", which also requires
// the admin role.
func dynamicConfig(resolverURL, resolverHost, backendURL string) string {
	plugin := fmt.Sprintf("          resolverURL: %q\n          cacheTTL: 60s\n", resolverURL)
	if resolverHost != "" {
		plugin += fmt.Sprintf("          resolverHost: %q\n", resolverHost)
	}
	return strings.Join([]string{
		"http:",
		"  routers:",
		"    app:",
		"      rule: PathPrefix(`/`)",
		"      middlewares: [authgear]",
		"      service: echo",
		"    admin:",
		"      rule: PathPrefix(`/admin`)",
		"      middlewares: [authgear-admin]",
		"      service: echo",
		"  middlewares:",
		"    authgear:",
		"      plugin:",
		"        authgear:",
		plugin + "    authgear-admin:",
		"      plugin:",
		"        authgear:",
		plugin + "          allowedRoles: [admin]",
		"  services:",
		"    echo:",
		"      loadBalancer:",
		"        servers:",
		fmt.Sprintf("          - url: %q", backendURL),
		"",
	}, "\n")
}
