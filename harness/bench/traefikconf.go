package main

import (
	"fmt"
	"sort"
	"strings"
)

// route is one Traefik router: its own entrypoint, every path, optionally
// one middleware, the echo backend as service.
type route struct {
	entryPoint string
	middleware string // empty: none
}

// middlewareYAML is the body of one middleware definition, indented for
// its place under http.middlewares.<name>.
type middlewareYAML string

// pluginMiddleware configures the plugin with the given extra options
// (option name to YAML value).
func pluginMiddleware(resolverURL, resolverHost string, extra map[string]string) middlewareYAML {
	var b strings.Builder
	fmt.Fprintf(&b, "      plugin:\n        authgear:\n")
	fmt.Fprintf(&b, "          resolverURL: %q\n          resolverHost: %q\n", resolverURL, resolverHost)
	keys := make([]string, 0, len(extra))
	for k := range extra {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		fmt.Fprintf(&b, "          %s: %s\n", k, extra[k])
	}
	return middlewareYAML(b.String())
}

// forwardAuthMiddleware configures Traefik's ForwardAuth the way Authgear's
// Traefik guide does: every X-Authgear-* header of the answer is copied.
func forwardAuthMiddleware(resolverURL string) middlewareYAML {
	return middlewareYAML(fmt.Sprintf("      forwardAuth:\n        address: %q\n        authResponseHeadersRegex: \"^X-Authgear-\"\n", resolverURL))
}

// dynamicConfig renders the file provider's configuration: one router per
// route, the middlewares, and the echo backend as the only service.
func dynamicConfig(routes []route, middlewares map[string]middlewareYAML, backendURL string) string {
	var b strings.Builder
	b.WriteString("http:\n  routers:\n")
	for _, r := range routes {
		fmt.Fprintf(&b, "    %s:\n      entryPoints: [%s]\n      rule: PathPrefix(`/`)\n      service: echo\n", r.entryPoint, r.entryPoint)
		if r.middleware != "" {
			fmt.Fprintf(&b, "      middlewares: [%s]\n", r.middleware)
		}
	}
	if len(middlewares) > 0 {
		b.WriteString("  middlewares:\n")
		names := make([]string, 0, len(middlewares))
		for n := range middlewares {
			names = append(names, n)
		}
		sort.Strings(names)
		for _, n := range names {
			fmt.Fprintf(&b, "    %s:\n%s", n, middlewares[n])
		}
	}
	fmt.Fprintf(&b, "  services:\n    echo:\n      loadBalancer:\n        servers:\n          - url: %q\n", backendURL)
	return b.String()
}
