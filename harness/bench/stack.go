package main

import (
	"context"
	"fmt"
	"net/http"
	"path/filepath"
	"runtime"
	"time"

	"github.com/traefik-authgear/traefik-authgear/harness/internal/harness"
)

// target is where one row sends its requests, and whose CPU time it costs.
type target struct {
	base  string                   // http://host:port
	cpu   func() (cpuTimes, error) // CPU time used so far by the proxy's processes
	admin string                   // Traefik's API with pprof (only with -profile), http://host:port
}

// stack is everything the table rows need: the stand-in resolver and the
// echo backend (separate processes), a bare Traefik (traefik-bare,
// forwardauth), a Traefik with the plugin (the plugin rows) and nginx.
type stack struct {
	ctl     *resolverCtl
	bare    *harness.Traefik
	plugin  *harness.Traefik
	nginx   *nginx
	targets map[string]target
}

// startStack starts the proxies in front of the already running resolver
// and backend, and waits until every route answers.
func startStack(ctx context.Context, dir, traefikBin string, resolver, backend *server, users usersInfo, profile bool) (_ *stack, err error) {
	st := &stack{ctl: newResolverCtl(resolver.addr), targets: map[string]target{}}
	defer func() {
		if err != nil {
			st.stop()
		}
	}()
	backendURL := "http://" + backend.addr
	resolveURL := st.ctl.resolveURL()
	root, err := harness.RepoRoot()
	if err != nil {
		return nil, err
	}
	trivialSource := filepath.Join(root, "harness", "bench", "trivialplugin")

	addrs := map[string]string{}
	for _, ep := range []string{"bare", "forwardauth", "hit", "anon", "miss", "nocache", "trivial", "reval", "nginxbare", "nginxauth", "nginxcache"} {
		if addrs[ep], err = harness.FreeAddr(); err != nil {
			return nil, err
		}
	}

	extra := ""
	if profile {
		extra = debugAPI
	}
	st.bare, err = harness.Start(ctx, harness.Options{
		Binary:      traefikBin,
		ExtraStatic: extra,
		NoPlugin:    true,
		EntryPoints: map[string]string{"bare": addrs["bare"], "forwardauth": addrs["forwardauth"]},
		Dynamic: dynamicConfig(
			[]route{{entryPoint: "bare"}, {entryPoint: "forwardauth", middleware: "forwardauth"}},
			map[string]middlewareYAML{"forwardauth": forwardAuthMiddleware(resolveURL)},
			backendURL),
	})
	if err != nil {
		return nil, fmt.Errorf("bare Traefik: %w", err)
	}
	st.plugin, err = harness.Start(ctx, harness.Options{
		Binary:      traefikBin,
		ExtraStatic: extra,
		EntryPoints: map[string]string{
			"hit": addrs["hit"], "anon": addrs["anon"], "miss": addrs["miss"], "nocache": addrs["nocache"],
			"trivial": addrs["trivial"], "reval": addrs["reval"],
		},
		ExtraPlugins: map[string]string{"trivial": trivialSource},
		Dynamic: dynamicConfig(
			[]route{
				{entryPoint: "hit", middleware: "auth"},
				{entryPoint: "anon", middleware: "auth"},
				{entryPoint: "miss", middleware: "auth-miss"},
				{entryPoint: "nocache", middleware: "auth-nocache"},
				{entryPoint: "trivial", middleware: "trivial"},
				{entryPoint: "reval", middleware: "auth-reval"},
			},
			map[string]middlewareYAML{
				"auth":         pluginMiddleware(resolveURL, users.publicHost, nil),
				"auth-miss":    pluginMiddleware(resolveURL, users.publicHost, nil),
				"auth-nocache": pluginMiddleware(resolveURL, users.publicHost, map[string]string{"cacheTTL": `"0"`}),
				"auth-reval":   pluginMiddleware(resolveURL, users.publicHost, map[string]string{"cacheTTL": `"1ms"`, "staleWhileRevalidate": `"5m"`}),
				"trivial":      middlewareYAML("      plugin:\n        trivial: {}\n"),
			},
			backendURL),
	})
	if err != nil {
		return nil, fmt.Errorf("starting Traefik with the plugin: %w", err)
	}
	for _, w := range []struct {
		t   *harness.Traefik
		eps []string
	}{{st.bare, []string{"bare", "forwardauth"}}, {st.plugin, []string{"hit", "anon", "miss", "nocache", "trivial", "reval"}}} {
		for _, ep := range w.eps {
			url := "http://" + addrs[ep] + "/small"
			if err := w.t.WaitRequest(func() *http.Request {
				req, _ := http.NewRequest(http.MethodGet, url, nil)
				return req
			}, 60*time.Second); err != nil {
				return nil, err
			}
		}
	}

	st.nginx, err = startNginx(ctx, dir, nginxSettings{
		workers:       runtime.NumCPU(),
		bareAddr:      addrs["nginxbare"],
		authAddr:      addrs["nginxauth"],
		authCacheAddr: addrs["nginxcache"],
		backendAddr:   backend.addr,
		resolverAddr:  resolver.addr,
		resolverHost:  users.publicHost,
	})
	if err != nil {
		return nil, err
	}

	bareCPU := pidCPU(st.bare.Cmd.Process.Pid)
	pluginCPU := pidCPU(st.plugin.Cmd.Process.Pid)
	nginxPID := st.nginx.cmd.Process.Pid
	nginxCPU := func() (cpuTimes, error) {
		pids, err := withChildren(nginxPID) // the master and its workers
		if err != nil {
			return nil, err
		}
		return processCPU(pids)
	}
	bareAdmin, pluginAdmin := "", ""
	if profile {
		bareAdmin, pluginAdmin = "http://"+st.bare.AdminAddr, "http://"+st.plugin.AdminAddr
	}
	for row, t := range map[string]struct {
		entryPoint string
		cpu        func() (cpuTimes, error)
		admin      string
	}{
		rowTraefikBare:    {"bare", bareCPU, bareAdmin},
		rowForwardAuth:    {"forwardauth", bareCPU, bareAdmin},
		rowPluginHit:      {"hit", pluginCPU, pluginAdmin},
		rowTrivial:        {"trivial", pluginCPU, pluginAdmin},
		rowPluginReval:    {"reval", pluginCPU, pluginAdmin},
		rowBareBrowser:    {"bare", bareCPU, bareAdmin},
		rowTrivialBrowser: {"trivial", pluginCPU, pluginAdmin},
		rowHitBrowser:     {"hit", pluginCPU, pluginAdmin},
		rowAnonBrowser:    {"anon", pluginCPU, pluginAdmin},
		rowPluginAnon:     {"anon", pluginCPU, pluginAdmin},
		rowPluginMiss:     {"miss", pluginCPU, pluginAdmin},
		rowPluginNoCache:  {"nocache", pluginCPU, pluginAdmin},
		rowNginxBare:      {"nginxbare", nginxCPU, ""},
		rowNginxAuth:      {"nginxauth", nginxCPU, ""},
		rowNginxAuthCache: {"nginxcache", nginxCPU, ""},
	} {
		st.targets[row] = target{base: "http://" + addrs[t.entryPoint], cpu: t.cpu, admin: t.admin}
	}
	return st, nil
}

// debugAPI is the static configuration that serves Traefik's API with
// pprof and expvar on its "traefik" entrypoint.
const debugAPI = "api:\n  insecure: true\n  debug: true\n"

// pidCPU returns a function that reads one process's CPU time.
func pidCPU(pid int) func() (cpuTimes, error) {
	return func() (cpuTimes, error) { return processCPU([]int{pid}) }
}

// stop stops the proxies (the resolver and backend belong to the caller).
func (st *stack) stop() {
	if st.nginx != nil {
		st.nginx.stop()
	}
	if st.plugin != nil {
		st.plugin.Stop()
	}
	if st.bare != nil {
		st.bare.Stop()
	}
}
