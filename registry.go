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
	settingsKey string
	app         string // the Authgear app's host: webhooks evict in every instance of the app
	cache       *cache
	transport   *http.Transport   // the resolver connections
	roundTrip   http.RoundTripper // what calls the resolver: transport, or a test's fake
	name        string
	lastLog     atomic.Int64 // UnixNano of the last log line
}

var (
	registryMu sync.Mutex               // protects registry
	registry   = map[string]*instance{} // by middleware name
)

// sharedInstance returns the instance registered for the middleware name if
// its settings are the same, or registers a new one in its place.
func sharedInstance(name string, s *settings) *instance {
	registryMu.Lock()
	defer registryMu.Unlock()
	if same := reusableInstance(name, s.key); same != nil {
		return same
	}
	in := &instance{
		settingsKey: s.key,
		app:         s.resolverHost,
		cache:       newCache(int64(s.cacheTTL), int64(s.staleIfError), s.cacheMaxEntries),
		transport:   newResolverTransport(s),
		name:        name,
	}
	in.roundTrip = in.transport
	in.cache.name = name
	registry[name] = in
	return in
}

// reusableInstance returns the instance registered for name if its settings
// key is key. Otherwise it closes the old instance's idle connections and
// returns nil; registryMu must be held.
func reusableInstance(name, key string) *instance {
	old := registry[name]
	if old == nil {
		return nil
	}
	if old.settingsKey == key {
		return old
	}
	old.transport.CloseIdleConnections()
	return nil
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

// logf writes a line to stderr, which Traefik logs at ERROR level, at most
// once per second per middleware. Lines never contain credentials.
func (in *instance) logf(format string, args ...interface{}) {
	now := time.Now().UnixNano()
	last := in.lastLog.Load()
	if now-last < int64(time.Second) || !in.lastLog.CompareAndSwap(last, now) {
		return
	}
	fmt.Fprintf(os.Stderr, "authgear middleware %q: %s\n", in.name, fmt.Sprintf(format, args...))
}
