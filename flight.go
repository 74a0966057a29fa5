package authgear

import (
	"context"
	"errors"
	"net/http"
	"time"
)

// The single-flight of resolver calls, in the spirit of groupcache's
// singleflight: the requests that miss the same key while a call for it runs
// wait for that call and share its result. Three rules keep it honest:
//
//   - a request never joins a call that started before a webhook eviction
//     (it could return the evicted user), and an answer for a user evicted
//     after its call started is returned to the requests that were already
//     waiting but not cached (cache.evictUser, cache.cacheable);
//   - a call is cancelled when the last request waiting for it has gone, and
//     goes on while one still waits;
//   - a call is completed in a defer, so that even a panic leaves no key in
//     flight.
//
// Waiting is a plain receive on the call's done channel, with the client's
// departure noticed by context.AfterFunc: no select, which Yaegi v0.16.1 does
// not run safely from several goroutines.

// call is one resolver call under way.
type call struct {
	done   chan struct{} // closed when ans and err are set
	ans    *answer
	err    error
	status int                // the resolver's status when it answered other than 200
	ctx    context.Context    // the call's own: bounded by timeout, not by a client
	stop   context.CancelFunc // cancels ctx
	epoch  int64              // the cache's eviction epoch when the call started
	// notAfter is the credentials' expiry (a bearer JWT's exp), or 0.
	notAfter int64
	// background is set on a refresh that no client waits for: no client
	// leaving ever cancels it.
	background bool

	waiters   int  // requests waiting for it (c.mu)
	abandoned bool // every waiter left and ctx was cancelled (c.mu)
}

// maxRefreshes bounds the background refreshes under way per middleware.
// Past it, a request whose answer is in its revalidation window and not
// being refreshed waits for a resolver call of its own, as on a miss
// (within timeout): an answer is never served past cacheTTL unless a
// refresh of it is under way, so that a slow resolver and a flood of other
// credentials cannot hold off a revocation.
const maxRefreshes = 32

// joined is what join found for a request's credentials.
type joined struct {
	ans     *answer // an answer to serve at once, fresh or revalidating
	cl      *call   // else the call to wait for
	leader  bool    // the caller must run cl (runCall)
	refresh *call   // a background refresh the caller must start (refresh)
}

// errCallPanicked is the result of a resolver call that panicked.
var errCallPanicked = errors.New("resolver call panicked")

// callResult is what a resolver call produced; a pointer to it is deferred.
type callResult struct {
	ans    *answer
	err    error
	status int // the resolver's status when it answered other than 200
	// returned is false when the call panicked. (A flag, not an error set
	// beforehand and cleared: clearing an interface field that way does not
	// take under Yaegi.)
	returned bool
}

// join returns, for key at time now: the fresh answer; or an answer in its
// revalidation window, with a background refresh to start if none is under
// way; or else the call to wait for, counted as one more waiter (the
// caller's own when it is the leader). notAfter is the credentials' expiry;
// served are the counts of the middleware that asks.
func (c *cache) join(key string, now, notAfter int64, timeout time.Duration, served *servedCounts) joined {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e := c.entries[key]; e != nil && now < e.revalidate {
		if now < e.expires {
			served.hits++
			return joined{ans: e.ans}
		}
		if servesStale(c, key, e, now) {
			served.revalidated++
			return joined{ans: e.ans}
		}
		if c.refreshing < maxRefreshes {
			served.revalidated++
			cl := c.newCall(key, notAfter, timeout)
			cl.background = true
			cl.waiters = 0
			c.refreshing++
			return joined{ans: e.ans, refresh: cl}
		}
		// No refresh can start: the request makes its own call and waits
		// for it, as on a miss, instead of keeping the answer alive
		// unchecked (see maxRefreshes).
	}
	if cl := joinable(c, key); cl != nil {
		cl.waiters++
		return joined{cl: cl}
	}
	return joined{cl: c.newCall(key, notAfter, timeout), leader: true}
}

// joinable returns the call under way for key that a request may share, or
// nil; c.mu must be held. A call that predates a webhook eviction, or that
// every waiter has left, is not joinable.
func joinable(c *cache, key string) *call {
	cl := c.inflight[key]
	if cl != nil && cl.epoch == c.epoch && !cl.abandoned {
		return cl
	}
	return nil
}

// servesStale reports whether e, past cacheTTL, is served as it is without
// a new refresh: it is within staleWhileRevalidate and a refresh of it is
// already under way; c.mu must be held. (Functions, not methods, as
// joinable: a request past cacheTTL calls them, and under Yaegi a method
// call also builds a method value.)
func servesStale(c *cache, key string, e *entry, now int64) bool {
	return now < e.revalidate && joinable(c, key) != nil
}

// newCall registers a call for key with one waiter; c.mu must be held.
func (c *cache) newCall(key string, notAfter int64, timeout time.Duration) *call {
	cl := &call{done: make(chan struct{}), epoch: c.epoch, notAfter: notAfter, waiters: 1}
	cl.ctx, cl.stop = context.WithTimeout(context.Background(), timeout)
	c.inflight[key] = cl
	c.running++
	return cl
}

// leave records that one waiter of cl has gone, and cancels the call when it
// was the last.
func (c *cache) leave(cl *call) {
	c.mu.Lock()
	cl.waiters--
	last := cl.waiters == 0 && !cl.background
	if last {
		cl.abandoned = true
	}
	c.mu.Unlock()
	if last {
		cl.stop()
	}
}

// runCall makes the resolver call cl for key with the given request
// headers and completes it, even if the call panics (the panic then goes on
// to the caller).
func runCall(in *instance, key string, cl *call, header http.Header) {
	r := &callResult{}
	defer in.app.cache.complete(key, cl, r)
	start := time.Now()
	callResolver(cl.ctx, in, header, r)
	r.returned = true
	in.metrics.observeCall(r, time.Since(start))
}

// refresh runs a background refresh in a goroutine of its own: no client
// waits for it, and a panic must not end Traefik.
func refresh(in *instance, key string, cl *call, header http.Header) {
	defer recoverRefresh(in)
	runCall(in, key, cl, header)
}

// recoverRefresh logs a background refresh's panic instead of crashing.
func recoverRefresh(in *instance) {
	if v := recover(); v != nil {
		in.logResolver("background refresh panicked: %v", v)
	}
}

// complete records the result of cl, caches a successful answer when
// cacheable says so, and wakes the waiters.
func (c *cache) complete(key string, cl *call, r *callResult) {
	c.finish(key, cl, r, time.Now().UnixNano())
}

// finish is complete at the time now.
func (c *cache) finish(key string, cl *call, r *callResult, now int64) {
	if !r.returned {
		r.err = errCallPanicked
	}
	c.mu.Lock()
	current := c.inflight[key] == cl
	if current {
		delete(c.inflight, key)
	}
	if r.err == nil && c.cacheable(cl, r.ans) && (current || c.entries[key] == nil) {
		c.insert(key, r.ans, now, cl.notAfter)
	}
	if e := c.entries[key]; e != nil && cl.background && r.err != nil && !allowsStale(r.status, r.err) {
		// A refresh that Authgear refused with a 4xx (which a client may
		// provoke) does not keep the old answer alive.
		c.remove(e)
	}
	c.running--
	if cl.background {
		c.refreshing--
	}
	if c.running == 0 {
		c.evictedAt = nil
		c.evictAllBefore = 0
	}
	report := c.sizeReport()
	c.mu.Unlock()
	cl.ans = r.ans
	cl.err = r.err
	cl.status = r.status
	cl.stop()
	close(cl.done)
	c.report(report)
}

// cacheable reports whether an answer of cl may be cached: not if the user
// it names was evicted after the call started; c.mu must be held.
func (c *cache) cacheable(cl *call, ans *answer) bool {
	if ans.userID == "" {
		return true
	}
	if cl.epoch < c.evictAllBefore {
		return false
	}
	at, evicted := c.evictedAt[ans.userID]
	return !evicted || at <= cl.epoch
}

// wait blocks until cl is done, leaving it (and so perhaps cancelling it) if
// the request's client goes away first. The leader runs the call instead of
// waiting for it.
func wait(in *instance, key string, cl *call, leader bool, req *http.Request, cr *credentials) {
	c := in.app.cache
	stop := context.AfterFunc(req.Context(), func() { c.leave(cl) })
	if leader {
		runCall(in, key, cl, resolverRequestHeader(req, cr, in.settings))
	} else {
		<-cl.done
	}
	stop()
}

// identify returns the identity for the request's credentials after a cache
// miss: from the one resolver call shared by all concurrent misses of the
// same key (or from the cache, if an answer arrived meanwhile). A non-zero
// status means the request must be answered with it; a nil answer with
// status 0 means the request goes on without identity (onResolverError:
// anonymous).
func identify(m *Middleware, req *http.Request) (*answer, int) {
	in := m.shared
	cr := readCredentials(req, m.cookies)
	if m.schemeKeyed {
		cr.scheme = resolverScheme(req, m.settings)
	}
	if credentialBytes(&cr, m.cookies) > maxCredentialBytes {
		// Never sent, so never failing "as an outage" and never answered
		// with a stale answer (see maxCredentialBytes).
		in.metrics.credentialsTooLarge.Add(1)
		return nil, http.StatusRequestHeaderFieldsTooLarge
	}
	key := cr.key()
	now := time.Now().UnixNano()
	j := in.app.cache.join(key, now, jwtExpiry(cr.authorization), m.settings.timeout, m.served)
	if j.refresh != nil {
		go refresh(in, key, j.refresh, resolverRequestHeader(req, &cr, in.settings))
	}
	if j.ans != nil {
		return j.ans, 0
	}
	in.metrics.misses.Add(1)
	cl := j.cl
	leader := j.leader
	wait(in, key, cl, leader, req, &cr)
	if cl.err == nil {
		return cl.ans, 0
	}
	if errors.Is(cl.err, context.Canceled) {
		return nil, statusClientClosedRequest
	}
	if leader {
		in.logResolver("resolver call failed: %v", cl.err)
	}
	if allowsStale(cl.status, cl.err) {
		if stale := in.app.cache.stale(key, time.Now().UnixNano()); stale != nil {
			in.metrics.staleServed.Add(1)
			return stale, 0
		}
	}
	if m.settings.anonymousOnError {
		return nil, 0
	}
	status := failureStatus(cl.status, cl.err)
	if status == http.StatusGatewayTimeout {
		in.metrics.failedTimeout.Add(1)
	} else {
		in.metrics.failedOther.Add(1)
	}
	return nil, status
}

// statusClientClosedRequest answers a request whose client went away while
// it waited for its resolver call (nginx's 499).
const statusClientClosedRequest = 499
