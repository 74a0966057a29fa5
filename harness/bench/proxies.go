package main

import (
	"context"
	"fmt"
	"path/filepath"
	"runtime"

	"github.com/traefik-authgear/traefik-authgear/harness/internal/harness"
	"github.com/traefik-authgear/traefik-authgear/harness/internal/stack"
)

// proxies are what the table rows are sent to, in front of the stand-in
// resolver and the echo backend processes: two Traefik stacks and nginx.
type proxies struct {
	traefiks []*stack.Stack
	nginx    *proc
	base     map[string]string // by entrypoint (rowSpec.ep): http://host:port
	pid      map[string]int    // by entrypoint: the process serving it (nginx: its master)
}

// traefikOptions are the table's two Traefik stacks, one route per
// entrypoint: a bare one (traefik-bare, forwardauth) and one with the plugins.
func traefikOptions(resolveURL, backendURL, trivialSource string) []stack.Options {
	route := func(ep string, mws ...string) stack.Route {
		return stack.Route{EntryPoints: []string{ep}, Middlewares: mws}
	}
	bare := stack.Options{
		Middlewares: []stack.Middleware{{Name: "forwardauth", Body: stack.ForwardAuth(resolveURL)}},
		Routes:      []stack.Route{route("bare"), route("forwardauth", "forwardauth")},
		Traefik:     harness.Options{NoPlugin: true},
	}
	plugin := stack.Options{
		Middlewares: []stack.Middleware{
			{Name: "auth"},
			{Name: "auth-miss"},
			{Name: "auth-nocache", Options: map[string]any{"cacheTTL": "0"}},
			{Name: "auth-reval", Options: map[string]any{"cacheTTL": "1ms", "staleWhileRevalidate": "5m"}},
			{Name: "trivial", Body: map[string]any{"plugin": map[string]any{"trivial": map[string]any{}}}},
		},
		Routes: []stack.Route{
			route("hit", "auth"), route("anon", "auth"), route("miss", "auth-miss"),
			route("nocache", "auth-nocache"), route("reval", "auth-reval"), route("trivial", "trivial"),
		},
		Traefik: harness.Options{ExtraPlugins: map[string]string{"trivial": trivialSource}},
	}
	out := []stack.Options{bare, plugin}
	for i := range out {
		out[i].ResolverURL, out[i].ResolverHost, out[i].BackendURL = resolveURL, stack.PublicHost, backendURL
	}
	return out
}

// startProxies starts both Traefik stacks and nginx; each waits until its
// routes answer.
func startProxies(ctx context.Context, root, dir string, ctl resolverCtl, backendAddr string) (_ *proxies, err error) {
	p := &proxies{base: map[string]string{}, pid: map[string]int{}}
	defer func() {
		if err != nil {
			p.stop()
		}
	}()
	addr := func(ep string) (string, error) {
		a, err := harness.FreeAddr()
		p.base[ep] = "http://" + a
		return a, err
	}
	for _, o := range traefikOptions(ctl.resolveURL(), "http://"+backendAddr, filepath.Join(root, "harness", "bench", "trivialplugin")) {
		o.Traefik.EntryPoints = map[string]string{}
		for _, r := range o.Routes {
			ep := r.EntryPoints[0]
			if o.Traefik.EntryPoints[ep], err = addr(ep); err != nil {
				return nil, err
			}
		}
		s, err := stack.Start(ctx, o)
		if err != nil {
			return nil, fmt.Errorf("starting Traefik: %w", err)
		}
		p.traefiks = append(p.traefiks, s)
		for ep := range o.Traefik.EntryPoints {
			p.pid[ep] = s.Traefik.Cmd.Process.Pid
		}
	}
	ns := nginxSettings{workers: runtime.NumCPU(), backendAddr: backendAddr, resolverAddr: string(ctl), resolverHost: stack.PublicHost}
	eps := map[string]*string{"nginxbare": &ns.bareAddr, "nginxauth": &ns.authAddr, "nginxcache": &ns.authCacheAddr}
	for ep, a := range eps {
		if *a, err = addr(ep); err != nil {
			return nil, err
		}
	}
	if p.nginx, err = startNginx(ctx, dir, ns); err != nil {
		return nil, err
	}
	for ep := range eps {
		p.pid[ep] = p.nginx.cmd.Process.Pid
	}
	return p, nil
}

// stop stops the proxies (the resolver and backend belong to the caller).
func (p *proxies) stop() {
	if p.nginx != nil {
		p.nginx.stop()
	}
	for _, s := range p.traefiks {
		s.Stop()
	}
}
