package authgear

import (
	"fmt"
	"net/http"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

// instance is what the routers sharing one middleware name share: the cache
// and the resolver client. Traefik calls New once per router and again on
// every configuration reload, with no close hook, so instances live in a
// package-level registry instead of in the handler.
type instance struct {
	settings  *settings
	app       string // the Authgear app's host: webhooks evict in every instance of the app
	cache     *cache
	transport *http.Transport   // the resolver connections
	roundTrip http.RoundTripper // what calls the resolver: transport, or a test's fake
	name      string

	lastNew int64 // UnixNano of the last New that returned this instance (registryMu)

	// metrics is what the middleware did, served at metricsPath. Its own
	// allocation: under Yaegi a struct holding counters by value was read
	// by a copy while another request added to them (a race the
	// interpreted concurrency test caught).
	metrics *metrics

	logs *logSlots // its own allocation, as metrics
}

// logSlots hold one log slot each for resolver failures, refused webhook
// posts and failed relays, so that a stream of one cannot hide another:
// UnixNano of each one's last line.
type logSlots struct {
	resolver, webhook, relay atomic.Int64
}

var (
	registryMu sync.Mutex               // protects the four below
	registry   = map[string]*instance{} // by middleware name
	lastNewAt  int64                    // UnixNano of the latest New
	reloadAt   int64                    // UnixNano of the first New of the latest reload
	clock      = time.Now               // the registry's clock; tests move it
)

// reloadGap separates configuration reloads: Traefik calls New for every
// router of a configuration within moments, so a New that comes this long
// after the previous one starts a new reload.
const reloadGap = 10 * time.Second

// sharedInstance returns the instance registered for the middleware name if
// its settings are the same, or registers a new one in its place.
//
// When a New starts a reload, the instances that the previous reload did not
// ask for are retired: their middleware name or settings are gone from the
// configuration. Retiring drops the cache and closes the idle connections; a
// handler that still held a retired instance would go on working, uncached.
func sharedInstance(name string, s *settings) *instance {
	now := clock().UnixNano()
	registryMu.Lock()
	defer registryMu.Unlock()
	if now-lastNewAt > int64(reloadGap) {
		for other, in := range registry {
			if in.lastNew < reloadAt {
				retire(other, in)
			}
		}
		reloadAt = now
	}
	lastNewAt = now
	in := registry[name]
	if in == nil || in.settings.key != s.key {
		if in != nil {
			retire(name, in)
		}
		in = newInstance(name, s)
		registry[name] = in
	}
	in.lastNew = now
	return in
}

// newInstance makes the shared state for one middleware name and settings.
func newInstance(name string, s *settings) *instance {
	in := &instance{
		settings:  s,
		app:       s.resolverHost,
		cache:     newCache(int64(s.cacheTTL), int64(s.staleWhileRevalidate), int64(s.staleIfError), s.cacheMaxEntries),
		transport: newResolverTransport(s),
		name:      name,
		metrics:   &metrics{},
		logs:      &logSlots{},
	}
	in.roundTrip = in.transport
	in.cache.name = name
	return in
}

// retire removes the instance from the registry, empties its cache and
// closes its idle connections; registryMu must be held.
func retire(name string, in *instance) {
	delete(registry, name)
	in.cache.retire()
	in.transport.CloseIdleConnections()
}

// cachesOfApp returns the caches of every instance that serves the Authgear
// app with the given host.
func cachesOfApp(app string) []*cache {
	registryMu.Lock()
	defer registryMu.Unlock()
	var caches []*cache
	for _, in := range registry {
		if in.app == app {
			caches = append(caches, in.cache)
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
