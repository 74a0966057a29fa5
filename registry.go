package authgear

import (
	"fmt"
	"net/http"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

// Traefik calls New once per router and again on every configuration
// reload, with no close hook, so what must outlive a handler lives in a
// package-level registry instead of in the handler, in two kinds:
//
//   - an app is what every middleware over one Authgear app shares: the
//     cache, the single-flight of resolver calls and the resolver
//     connections, keyed by the resolver-side settings (settings.appKey). Two
//     middlewares with different policies over the same app share one cached
//     answer per credential and one resolver call per user per cacheTTL, and
//     one webhook delivery evicts for all of them;
//   - an instance is one middleware name with its settings: its policy, its
//     metrics and log slots, and the app it uses.

// app is the state shared by every middleware over one Authgear app.
type app struct {
	key       string // settings.appKey
	host      string // the Authgear app's host: webhooks evict in every app of that host
	cache     *cache
	transport *http.Transport   // the resolver connections
	roundTrip http.RoundTripper // what calls the resolver: transport, or a test's fake
}

// instance is what the routers sharing one middleware name share.
type instance struct {
	settings *settings
	app      *app
	name     string

	lastNew int64 // UnixNano of the last New that returned this instance (registryMu)

	// metrics is what the middleware did, served at metricsPath. Its own
	// allocation: under Yaegi a struct holding counters by value was read
	// by a copy while another request added to them (a race the
	// interpreted concurrency test caught).
	metrics *metrics

	logs *logSlots // its own allocation, as metrics

	// signer mints the middleware's assertions; nil without jwtAssertion.
	signer *signer

	// served counts the answers this middleware served from the shared
	// cache; its app's cache.mu protects it, which the hit path holds anyway.
	served *servedCounts
}

// servedCounts are the metrics' cache_hit and revalidated of one
// middleware: answers served fresh, and past cacheTTL while refreshed.
type servedCounts struct {
	hits, revalidated int64
}

// logSlots hold one log slot each for resolver failures, refused webhook
// posts and failed relays, so that a stream of one cannot hide another:
// UnixNano of each one's last line.
type logSlots struct {
	resolver, webhook, relay atomic.Int64
}

var (
	registryMu sync.Mutex               // protects the five below
	registry   = map[string]*instance{} // by middleware name
	apps       = map[string]*app{}      // by settings.appKey
	lastNewAt  int64                    // UnixNano of the latest New
	reloadAt   int64                    // UnixNano of the first New of the latest reload
	clock      = time.Now               // the registry's clock; tests move it
)

// reloadGap separates configuration reloads: Traefik calls New for every
// router of a configuration within moments, so a New that comes this long
// after the previous one starts a new reload.
const reloadGap = 10 * time.Second

// sharedInstance returns the instance registered for the middleware name if
// its settings are the same, or registers a new one in its place, over the
// app its resolver-side settings name (made if none has them).
//
// When a New starts a reload, the instances that the previous reload did not
// ask for are retired: their middleware name or settings are gone from the
// configuration. An app that no registered instance uses any more is
// retired with them: its cache is dropped and its idle connections closed. A
// handler that still held a retired app would go on working, uncached.
func sharedInstance(name string, s *settings) *instance {
	now := clock().UnixNano()
	registryMu.Lock()
	defer registryMu.Unlock()
	dropped := false
	if now-lastNewAt > int64(reloadGap) {
		for other, in := range registry {
			if in.lastNew < reloadAt {
				delete(registry, other)
				dropped = true
			}
		}
		reloadAt = now
	}
	lastNewAt = now
	in := registry[name]
	if in == nil || in.settings.key != s.key {
		dropped = dropped || in != nil
		in = &instance{settings: s, app: appFor(name, s), name: name, metrics: &metrics{}, logs: &logSlots{}, served: &servedCounts{}}
		if a := s.assertion; a != nil {
			audience := a.audience
			if audience == "" {
				audience = name
			}
			in.signer = newSigner(a.key, a.issuer, audience, a.lifetime)
		}
		registry[name] = in
	}
	in.lastNew = now
	if dropped {
		retireUnusedApps()
	}
	return in
}

// appFor returns the app of the settings, registering a new one if there is
// none; registryMu must be held.
func appFor(name string, s *settings) *app {
	if a := apps[s.appKey]; a != nil {
		return a
	}
	a := &app{
		key:       s.appKey,
		host:      s.resolverHost,
		cache:     newCache(int64(s.cacheTTL), int64(s.staleWhileRevalidate), int64(s.staleIfError), s.cacheMaxEntries),
		transport: newResolverTransport(s),
	}
	a.roundTrip = a.transport
	a.cache.name = name
	apps[s.appKey] = a
	return a
}

// retireUnusedApps retires every app that no registered instance uses;
// registryMu must be held.
func retireUnusedApps() {
	used := make(map[*app]bool, len(apps))
	for _, in := range registry {
		used[in.app] = true
	}
	for key, a := range apps {
		if !used[a] {
			delete(apps, key)
			a.cache.retire()
			a.transport.CloseIdleConnections()
		}
	}
}

// cachesOfApp returns the caches of every app with the given host: a
// webhook delivery names a user of that Authgear app, however its
// middlewares cache it.
func cachesOfApp(host string) []*cache {
	registryMu.Lock()
	defer registryMu.Unlock()
	var caches []*cache
	for _, a := range apps {
		if a.host == host {
			caches = append(caches, a.cache)
		}
	}
	return caches
}

// logResolver logs a resolver failure; see logTo.
func (in *instance) logResolver(format string, args ...interface{}) {
	in.logTo(&in.logs.resolver, format, args...)
}

// logWebhook logs a refused webhook delivery; see logTo.
func (in *instance) logWebhook(format string, args ...interface{}) {
	in.logTo(&in.logs.webhook, format, args...)
}

// logRelay logs a failed webhook relay; see logTo.
func (in *instance) logRelay(format string, args ...interface{}) {
	in.logTo(&in.logs.relay, format, args...)
}

// logTo writes a line to stderr, which Traefik logs at ERROR level, at most
// once per second per middleware and slot. Lines never contain credentials.
func (in *instance) logTo(last *atomic.Int64, format string, args ...interface{}) {
	now := time.Now().UnixNano()
	prev := last.Load()
	if now-prev < int64(time.Second) || !last.CompareAndSwap(prev, now) {
		return
	}
	fmt.Fprintf(os.Stderr, "authgear middleware %q: %s\n", in.name, fmt.Sprintf(format, args...))
}
