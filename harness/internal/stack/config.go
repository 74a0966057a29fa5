package stack

import (
	"cmp"
	"fmt"
	"maps"
	"strings"

	"gopkg.in/yaml.v3"
)

// Dynamic renders the file provider's configuration for mws and routes
// (DefaultRoutes when routes is nil): every router goes to the backend.
func (s *Stack) Dynamic(mws []Middleware, routes []Route) string {
	if routes == nil {
		routes = DefaultRoutes(mws)
	}
	routers := map[string]any{}
	for i, r := range routes {
		router := map[string]any{
			"rule":    fmt.Sprintf("PathPrefix(`%s`)", cmp.Or(r.Prefix, "/")),
			"service": "backend",
		}
		if len(r.EntryPoints) > 0 {
			router["entryPoints"] = r.EntryPoints
		}
		if len(r.Middlewares) > 0 {
			router["middlewares"] = r.Middlewares
		}
		if r.TLS {
			router["tls"] = map[string]any{}
		}
		routers[fmt.Sprintf("r%02d-%s", i, strings.Trim(strings.ReplaceAll(cmp.Or(r.Prefix, "/"), "/", "-"), "-"))] = router
	}
	middlewares := map[string]any{}
	for _, mw := range mws {
		middlewares[mw.Name] = s.middlewareBody(mw)
	}
	http := map[string]any{
		"routers":  routers,
		"services": map[string]any{"backend": map[string]any{"loadBalancer": map[string]any{"servers": []any{map[string]any{"url": s.opts.BackendURL}}}}},
	}
	if len(middlewares) > 0 {
		http["middlewares"] = middlewares
	}
	out, err := yaml.Marshal(map[string]any{"http": http})
	if err != nil {
		panic(err) // maps of strings, lists and maps always marshal
	}
	return string(out)
}

// middlewareBody is a middleware's definition: Body, or the plugin with its
// options and the resolver the stack gave it.
func (s *Stack) middlewareBody(mw Middleware) map[string]any {
	if mw.Body != nil {
		return mw.Body
	}
	opts := map[string]any{}
	if url := s.ResolverURLs[mw.Name]; url != "" {
		opts["resolverURL"] = url
	}
	if host := s.resolverHosts[mw.Name]; host != "" && !mw.NoResolverHost {
		opts["resolverHost"] = host
	}
	maps.Copy(opts, mw.Options)
	return map[string]any{"plugin": map[string]any{"authgear": opts}}
}

// DefaultRoutes are a route at /<name>/ for each plugin middleware and
// PlainRoute without middleware.
func DefaultRoutes(mws []Middleware) []Route {
	var routes []Route
	for _, mw := range mws {
		if mw.Body == nil {
			routes = append(routes, Route{Prefix: "/" + mw.Name + "/", Middlewares: []string{mw.Name}})
		}
	}
	return append(routes, Route{Prefix: PlainRoute})
}

// ForwardAuth is Traefik's ForwardAuth configured the way Authgear's Traefik
// guide does: every X-Authgear-* header of the answer is copied.
func ForwardAuth(resolverURL string) map[string]any {
	return map[string]any{"forwardAuth": map[string]any{"address": resolverURL, "authResponseHeadersRegex": "^X-Authgear-"}}
}
