package main

import (
	"strings"
	"testing"
)

func TestNginxConfig(t *testing.T) {
	c := nginxSettings{
		dir: "/tmp/x", workers: 2, user: "nobody nogroup",
		bareAddr: "127.0.0.1:1", authAddr: "127.0.0.1:2", authCacheAddr: "127.0.0.1:3",
		backendAddr: "127.0.0.1:4", resolverAddr: "127.0.0.1:5", resolverHost: "auth.example.test",
	}.config()
	for _, want := range []string{
		"user nobody nogroup;\n",
		"worker_processes 2;\n",
		"pid /tmp/x/nginx.pid;\n",
		"listen 127.0.0.1:1;",
		"keepalive 64;",
		"auth_request /_auth;",
		"auth_request_set $x_authgear_user_id $upstream_http_x_authgear_user_id;",
		"proxy_set_header x-authgear-user-id $x_authgear_user_id;",
		"proxy_set_header Host auth.example.test;",
		"proxy_cache_key \"" + nginxCacheKey + "\";",
		"proxy_cache_lock on;",
	} {
		if !strings.Contains(c, want) {
			t.Errorf("nginx.conf lacks %q:\n%s", want, c)
		}
	}
	if n := strings.Count(c, "proxy_cache authgear;"); n != 1 {
		t.Errorf("proxy_cache on %d locations, want 1 (nginx-auth-cache only)", n)
	}
	if n := strings.Count(c, "auth_request /_auth;"); n != 2 {
		t.Errorf("auth_request in %d locations, want 2", n)
	}
	// Every location with proxy_set_header keeps Connection "" for keep-alive.
	if a, b := strings.Count(c, "proxy_pass "), strings.Count(c, "proxy_set_header Connection \"\";"); a != b {
		t.Errorf("%d proxy_pass but %d keep-alive Connection headers", a, b)
	}
	if strings.Count(c, "{") != strings.Count(c, "}") {
		t.Errorf("unbalanced braces:\n%s", c)
	}
}

func TestDynamicConfig(t *testing.T) {
	y := dynamicConfig(
		[]route{{entryPoint: "bare"}, {entryPoint: "hit", middleware: "auth"}},
		map[string]middlewareYAML{
			"auth":        pluginMiddleware("http://127.0.0.1:5/_resolver/resolve", "auth.example.test", map[string]string{"cacheTTL": `"0"`}),
			"forwardauth": forwardAuthMiddleware("http://127.0.0.1:5/_resolver/resolve"),
		},
		"http://127.0.0.1:4")
	for _, want := range []string{
		"    bare:\n      entryPoints: [bare]\n      rule: PathPrefix(`/`)\n      service: echo\n    hit:",
		"      middlewares: [auth]\n",
		"    auth:\n      plugin:\n        authgear:\n          resolverURL: \"http://127.0.0.1:5/_resolver/resolve\"\n          resolverHost: \"auth.example.test\"\n          cacheTTL: \"0\"\n",
		"      forwardAuth:\n        address: \"http://127.0.0.1:5/_resolver/resolve\"\n        authResponseHeadersRegex: \"^X-Authgear-\"\n",
		"          - url: \"http://127.0.0.1:4\"\n",
	} {
		if !strings.Contains(y, want) {
			t.Errorf("dynamic config lacks %q:\n%s", want, y)
		}
	}
	if strings.Contains(y, "\t") {
		t.Error("tabs in YAML")
	}
}
