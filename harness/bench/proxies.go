package main

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"os/user"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/traefik-authgear/traefik-authgear/harness/internal/harness"
	"github.com/traefik-authgear/traefik-authgear/harness/internal/stack"
)

// proxies are what the rows are sent to: two Traefik stacks and nginx.
type proxies struct {
	traefiks []*stack.Stack
	nginx    *proc
	base     map[string]string // by entrypoint (rowSpec.ep): http://host:port
	pid      map[string]int    // by entrypoint: the process serving it (nginx: its master)
}

// traefikOptions are the bare Traefik stack and the plugins', one route per entrypoint.
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
			// A hit row's check never meets a refresh of its own answer: the
			// rows timed in between last longer than the default 10 s.
			{Name: "auth", Options: map[string]any{"cacheTTL": "10m"}},
			{Name: "auth-miss"},
			{Name: "auth-nocache", Options: map[string]any{"cacheTTL": "0"}},
			{Name: "auth-reval", Options: map[string]any{"cacheTTL": "1ms", "staleWhileRevalidate": "5m"}},
			{Name: "auth-assert", Options: map[string]any{"cacheTTL": "10m", "jwtAssertion": true}},
			{Name: "trivial", Body: map[string]any{"plugin": map[string]any{"trivial": map[string]any{}}}},
		},
		Routes: []stack.Route{
			route("hit", "auth"), route("anon", "auth"), route("miss", "auth-miss"),
			route("nocache", "auth-nocache"), route("reval", "auth-reval"), route("trivial", "trivial"),
			route("hitassert", "auth-assert"),
		},
		Traefik: harness.Options{ExtraPlugins: map[string]string{"trivial": trivialSource}},
	}
	out := []stack.Options{bare, plugin}
	for i := range out {
		out[i].ResolverURL, out[i].ResolverHost, out[i].BackendURL = resolveURL, stack.PublicHost, backendURL
	}
	return out
}

// startProxies starts both Traefik stacks and nginx, each until its routes answer.
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

// startNginx runs nginx in a new folder under parent until the bare server answers.
func startNginx(ctx context.Context, parent string, s nginxSettings) (*proc, error) {
	dir, err := os.MkdirTemp(parent, "nginx-")
	if err != nil {
		return nil, err
	}
	s.dir = dir
	if os.Geteuid() == 0 {
		// The workers drop to an unprivileged user, which must be able to
		// reach the cache and temp paths below dir.
		s.user = "nobody"
		for _, g := range []string{"nogroup", "nobody"} {
			if _, err := user.LookupGroup(g); err == nil {
				s.user = "nobody " + g
				break
			}
		}
		for _, p := range []string{parent, dir} {
			if err := os.Chmod(p, 0o755); err != nil {
				return nil, err
			}
		}
	}
	conf := filepath.Join(dir, "nginx.conf")
	if err := os.MkdirAll(filepath.Join(dir, "tmp"), 0o755); err != nil {
		return nil, err
	}
	if err := os.WriteFile(conf, []byte(s.config()), 0o644); err != nil {
		return nil, err
	}
	client := &http.Client{Timeout: 2 * time.Second}
	answers := func(*proc) bool {
		_, err := requestOK(ctx, client, http.MethodGet, "http://"+s.bareAddr+"/small", "")
		return err == nil
	}
	p, err := startProc(ctx, answers, "nginx", nginxBin, "-p", dir+"/", "-c", conf, "-e", filepath.Join(dir, "error.log"), "-g", "daemon off;")
	if err != nil {
		data, _ := os.ReadFile(filepath.Join(dir, "error.log"))
		return nil, fmt.Errorf("%w\nerror.log:\n%s", err, lastLines(string(data), 20, "\n"))
	}
	return p, nil
}

// identityHeaders are the resolver's headers the nginx rows copy to the backend.
var identityHeaders = []string{
	"x-authgear-session-valid", "x-authgear-user-id", "x-authgear-user-anonymous", "x-authgear-user-verified",
	"x-authgear-user-can-reauthenticate", "x-authgear-user-roles", "x-authgear-session-amr", "x-authgear-session-authenticated-at",
}

// nginxCacheKey is the auth cache key: every credential Authgear reads.
// Authgear's nginx example keys on "$cookie_session|$http_authorization",
// which gives every app_session user and every anonymous request one and the
// same entry. Cookie values cannot hold ';', so the three cookies are
// delimited unambiguously, and the Authorization header takes the rest.
const nginxCacheKey = "$cookie_app_session;$cookie_app_access_token;$cookie_session;$http_authorization"

// nginxSettings are what the nginx configuration depends on.
type nginxSettings struct {
	dir           string // prefix: pid, logs, temp paths and the cache live here
	workers       int
	user          string // "user" directive when running as root; empty: none
	bareAddr      string // nginx-bare listens here
	authAddr      string // nginx-auth
	authCacheAddr string // nginx-auth-cache
	backendAddr   string
	resolverAddr  string
	resolverHost  string // Authgear's public host, sent as Host to the resolver
}

// keepAlive keeps upstream connections open (else nginx runs out of ports).
const keepAlive = "            proxy_http_version 1.1;\n            proxy_set_header Connection \"\";\n"

// config renders nginx.conf: three servers, one per nginx row.
func (s nginxSettings) config() string {
	var b strings.Builder
	if s.user != "" {
		fmt.Fprintf(&b, "user %s;\n", s.user)
	}
	fmt.Fprintf(&b, "worker_processes %d;\npid %s/nginx.pid;\nerror_log %s/error.log warn;\n", s.workers, s.dir, s.dir)
	b.WriteString("events {\n    worker_connections 4096;\n}\nhttp {\n    access_log off;\n")
	for _, t := range []string{"client_body", "proxy", "fastcgi", "uwsgi", "scgi"} {
		fmt.Fprintf(&b, "    %s_temp_path %s/tmp/%s;\n", t, s.dir, t)
	}
	fmt.Fprintf(&b, "    proxy_cache_path %s/cache levels=1:2 keys_zone=authgear:10m inactive=10m;\n", s.dir)
	for _, u := range [][2]string{{"backend", s.backendAddr}, {"authgear", s.resolverAddr}} {
		fmt.Fprintf(&b, "    upstream %s {\n        server %s;\n        keepalive 64;\n    }\n", u[0], u[1])
	}
	fmt.Fprintf(&b, "    server {\n        listen %s;\n        location / {\n%s        }\n    }\n", s.bareAddr, backendProxy(nil))
	b.WriteString(s.authServer(s.authCacheAddr, true))
	b.WriteString(s.authServer(s.authAddr, false))
	b.WriteString("}\n")
	return b.String()
}

// authServer is an auth_request server as in Authgear's nginx guide, cached or not.
func (s nginxSettings) authServer(addr string, cache bool) string {
	var b strings.Builder
	fmt.Fprintf(&b, "    server {\n        listen %s;\n        location / {\n            auth_request /_auth;\n", addr)
	for _, h := range identityHeaders {
		fmt.Fprintf(&b, "            auth_request_set $%s $upstream_http_%s;\n", nginxVar(h), nginxVar(h))
	}
	b.WriteString(backendProxy(identityHeaders))
	b.WriteString("        }\n        location = /_auth {\n            internal;\n" +
		"            proxy_pass http://authgear/_resolver/resolve;\n            proxy_pass_request_body off;\n" + keepAlive +
		"            proxy_set_header Content-Length \"\";\n")
	fmt.Fprintf(&b, "            proxy_set_header Host %s;\n            proxy_set_header X-Forwarded-Host %s;\n", s.resolverHost, s.resolverHost)
	if cache {
		fmt.Fprintf(&b, "            proxy_cache authgear;\n            proxy_cache_key \"%s\";\n            proxy_cache_valid 200 60s;\n"+
			"            proxy_cache_lock on;\n            proxy_ignore_headers Cache-Control Expires Set-Cookie;\n", nginxCacheKey)
	}
	b.WriteString("        }\n    }\n")
	return b.String()
}

// backendProxy proxies to the backend with all headers (none are inherited).
func backendProxy(headers []string) string {
	b := "            proxy_pass http://backend;\n" + keepAlive + "            proxy_set_header Host $host;\n"
	for _, h := range headers {
		b += fmt.Sprintf("            proxy_set_header %s $%s;\n", h, nginxVar(h))
	}
	return b
}

// nginxVar turns a header name into the nginx variable suffix.
func nginxVar(header string) string {
	return strings.ReplaceAll(strings.ToLower(header), "-", "_")
}
