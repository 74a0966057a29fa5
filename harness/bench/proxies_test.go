package main

import (
	"strings"
	"testing"

	"github.com/traefik-authgear/traefik-authgear/harness/internal/stack"
)

func TestTraefikOptions(t *testing.T) {
	opts := traefikOptions("http://127.0.0.1:5/_resolver/resolve", "http://127.0.0.1:4", "/src/trivial")
	routed := map[string]bool{} // entrypoints
	for _, o := range opts {
		dynamic := (&stack.Stack{}).Dynamic(o.Middlewares, o.Routes)
		for _, r := range o.Routes {
			if len(r.EntryPoints) != 1 || routed[r.EntryPoints[0]] {
				t.Errorf("entrypoints %v: want one, routed once", r.EntryPoints)
			}
			routed[r.EntryPoints[0]] = true
			for _, mw := range r.Middlewares {
				if !strings.Contains(dynamic, "\n        "+mw+":\n") {
					t.Errorf("entrypoint %v: middleware %s is not defined beside it:\n%s", r.EntryPoints, mw, dynamic)
				}
			}
		}
		if o.ResolverURL == "" || o.BackendURL != "http://127.0.0.1:4" {
			t.Errorf("stack options %+v", o)
		}
	}
	for _, s := range rowSpecs {
		if !routed[s.ep] && !s.nginx {
			t.Errorf("row %s: no route on entrypoint %s", s.name, s.ep)
		}
	}
	if !opts[0].Traefik.NoPlugin || opts[0].Routes[0].Middlewares != nil || opts[1].Traefik.ExtraPlugins["trivial"] != "/src/trivial" {
		t.Errorf("want a bare Traefik with a route without middleware, and one with the plugins: %+v", opts)
	}
	dynamic := (&stack.Stack{}).Dynamic(opts[1].Middlewares, opts[1].Routes)
	for _, want := range []string{"trivial: {}", `cacheTTL: "0"`, "staleWhileRevalidate: 5m", "- reval\n"} {
		if !strings.Contains(dynamic, want) {
			t.Errorf("plugin Traefik's dynamic configuration lacks %q:\n%s", want, dynamic)
		}
	}
	if fa := opts[0].Middlewares[0].Body["forwardAuth"].(map[string]any); fa["address"] != "http://127.0.0.1:5/_resolver/resolve" {
		t.Errorf("forwardauth = %v", fa)
	}
}

func TestNginxConfig(t *testing.T) {
	c := nginxSettings{
		dir: "/tmp/x", workers: 2, user: "nobody nogroup",
		bareAddr: "127.0.0.1:1", authAddr: "127.0.0.1:2", authCacheAddr: "127.0.0.1:3",
		backendAddr: "127.0.0.1:4", resolverAddr: "127.0.0.1:5", resolverHost: "auth.example.test",
	}.config()
	for _, want := range []string{
		"user nobody nogroup;\n", "worker_processes 2;\n", "pid /tmp/x/nginx.pid;\n", "listen 127.0.0.1:1;", "keepalive 64;",
		"auth_request_set $x_authgear_user_id $upstream_http_x_authgear_user_id;",
		"proxy_set_header x-authgear-user-id $x_authgear_user_id;",
		"proxy_set_header Host auth.example.test;", "proxy_cache_key \"" + nginxCacheKey + "\";", "proxy_cache_lock on;",
	} {
		if !strings.Contains(c, want) {
			t.Errorf("nginx.conf lacks %q:\n%s", want, c)
		}
	}
	for text, n := range map[string]int{"proxy_cache authgear;": 1, "auth_request /_auth;": 2, "proxy_pass ": 5, "proxy_set_header Connection \"\";": 5} {
		if got := strings.Count(c, text); got != n {
			t.Errorf("%q %d times, want %d", text, got, n)
		}
	}
	if strings.Count(c, "{") != strings.Count(c, "}") {
		t.Errorf("unbalanced braces:\n%s", c)
	}
}
