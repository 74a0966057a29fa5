package main

// Row names, as printed in the table.
const (
	rowTraefikBare    = "traefik-bare"
	rowTrivial        = "trivial-plugin"
	rowPluginHit      = "plugin-hit"
	rowPluginReval    = "plugin-revalidating"
	rowBareBrowser    = "traefik-bare-browser"
	rowTrivialBrowser = "trivial-plugin-browser"
	rowHitBrowser     = "plugin-hit-browser"
	rowAnonBrowser    = "plugin-anon-browser"
	rowPluginAnon     = "plugin-anon"
	rowPluginMiss     = "plugin-miss"
	rowPluginNoCache  = "plugin-nocache"
	rowForwardAuth    = "forwardauth"
	rowNginxBare      = "nginx-bare"
	rowNginxAuthCache = "nginx-auth-cache"
	rowNginxAuth      = "nginx-auth"
)

// Proxies: each row's throughput is compared with its own proxy's bare row.
const (
	proxyTraefik = "traefik"
	proxyNginx   = "nginx"
)

// rowSpec says what one row measures.
type rowSpec struct {
	name  string
	proxy string
	what  string // one line for the legend under the table
	// credential is true when every request carries the benchmark user's
	// session cookie (the bare rows send it too, so that every proxy parses
	// the same request); false for plugin-anon.
	credential bool
	// fresh is true when every request carries a new session cookie (a wrk
	// Lua script), so that each one is a cache miss.
	fresh bool
	// browser adds the dozen headers a browser sends with a page load.
	browser bool
}

// rowSpecs are the rows in the table's order.
var rowSpecs = []rowSpec{
	{name: rowTraefikBare, proxy: proxyTraefik, credential: true,
		what: "Traefik v3.6.12 routing to the backend, no middleware (the limit)"},
	{name: rowTrivial, proxy: proxyTraefik, credential: true,
		what: "a trivial Yaegi plugin of the bench's own (`harness/bench/trivialplugin`: sets one request header, calls next), loaded with `localPlugins` beside this one: the interpreter's floor"},
	{name: rowPluginHit, proxy: proxyTraefik, credential: true,
		what: "this plugin, one session cookie, answers served from the cache"},
	{name: rowPluginReval, proxy: proxyTraefik, credential: true,
		what: "this plugin, `cacheTTL: 1ms` and `staleWhileRevalidate: 5m`: every hit is past `cacheTTL`, served at once while a background call refreshes it"},
	{name: rowBareBrowser, proxy: proxyTraefik, credential: true, browser: true,
		what: "traefik-bare with the dozen headers a browser sends with a page load (User-Agent, Accept, Accept-Language, Accept-Encoding, Referer, Sec-Fetch-*, Sec-Ch-Ua*, Upgrade-Insecure-Requests, Cache-Control)"},
	{name: rowTrivialBrowser, proxy: proxyTraefik, credential: true, browser: true,
		what: "trivial-plugin with the browser's headers"},
	{name: rowHitBrowser, proxy: proxyTraefik, credential: true, browser: true,
		what: "plugin-hit with the browser's headers"},
	{name: rowAnonBrowser, proxy: proxyTraefik, browser: true,
		what: "plugin-anon with the browser's headers"},
	{name: rowPluginAnon, proxy: proxyTraefik,
		what: "this plugin, requests without credentials"},
	{name: rowPluginMiss, proxy: proxyTraefik, fresh: true,
		what: "this plugin, a new session cookie on every request (wrk Lua script), cache on: one resolver call each (the stand-in answers `x-authgear-session-valid: false` for an unknown session, as Authgear does)"},
	{name: rowPluginNoCache, proxy: proxyTraefik, credential: true,
		what: "this plugin, `cacheTTL: 0`: no cache, but concurrent requests with the same credential still share one resolver call (hence fewer than 1 call per request under load)"},
	{name: rowForwardAuth, proxy: proxyTraefik, credential: true,
		what: "Traefik's ForwardAuth to the same resolver, `authResponseHeadersRegex: ^X-Authgear-`"},
	{name: rowNginxBare, proxy: proxyNginx, credential: true,
		what: "nginx proxying to the backend (upstream keep-alive)"},
	{name: rowNginxAuthCache, proxy: proxyNginx, credential: true,
		what: "nginx `auth_request` with `proxy_cache` on the auth location (Authgear's docs; key over all four credential inputs)"},
	{name: rowNginxAuth, proxy: proxyNginx, credential: true,
		what: "nginx `auth_request` without cache"},
}

// runOrder is the order of one round: Traefik and nginx rows alternate while
// both last, so that a slow drift of the machine's load (it is shared) hits
// both proxies alike. Odd rounds run it backwards.
var runOrder = []string{
	rowTraefikBare, rowNginxBare,
	rowTrivial, rowNginxAuthCache,
	rowPluginHit, rowNginxAuth,
	rowForwardAuth,
	rowBareBrowser, rowTrivialBrowser, rowHitBrowser, rowAnonBrowser,
	rowPluginReval, rowPluginAnon, rowPluginNoCache, rowPluginMiss,
}

// roundOrder returns the rows of round r (0-based) among the selected ones.
func roundOrder(r int, selected map[string]bool) []string {
	var out []string
	for _, name := range runOrder {
		if selected[name] {
			out = append(out, name)
		}
	}
	if r%2 == 1 {
		for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
			out[i], out[j] = out[j], out[i]
		}
	}
	return out
}

// bareRow returns the bare row of a proxy.
func bareRow(proxy string) string {
	if proxy == proxyNginx {
		return rowNginxBare
	}
	return rowTraefikBare
}

// specOf returns the spec of a row name.
func specOf(name string) (rowSpec, bool) {
	for _, s := range rowSpecs {
		if s.name == name {
			return s, true
		}
	}
	return rowSpec{}, false
}

func knownRow(name string) bool {
	_, ok := specOf(name)
	return ok
}

func rowNames() []string {
	out := make([]string, len(rowSpecs))
	for i, s := range rowSpecs {
		out[i] = s.name
	}
	return out
}
