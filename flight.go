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

	waiters   int  // requests waiting for it (c.mu)
	abandoned bool // every waiter left and ctx was cancelled (c.mu)
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

// join returns the fresh answer for key, or the call to wait for, counted as
// one more waiter. When leader is true the caller must run the call (runCall).
func (c *cache) join(key string, now int64, timeout time.Duration) (ans *answer, cl *call, leader bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e := c.entries[key]; e != nil && now < e.expires {
		return e.ans, nil, false
	}
	if cl = c.inflight[key]; cl != nil && cl.epoch == c.epoch && !cl.abandoned {
		cl.waiters++
		return nil, cl, false
	}
	cl = &call{done: make(chan struct{}), epoch: c.epoch, waiters: 1}
	cl.ctx, cl.stop = context.WithTimeout(context.Background(), timeout)
	c.inflight[key] = cl
	c.running++
	return nil, cl, true
}

// leave records that one waiter of cl has gone, and cancels the call when it
// was the last.
func (c *cache) leave(cl *call) {
	c.mu.Lock()
	cl.waiters--
	last := cl.waiters == 0
	if last {
		cl.abandoned = true
	}
	c.mu.Unlock()
	if last {
		cl.stop()
	}
}

// runCall makes the resolver call cl for key and completes it, even if the
// call panics (the panic then goes on to Traefik's recovery).
func runCall(in *instance, key string, cl *call, req *http.Request, cr *credentials) {
	r := &callResult{}
	defer in.cache.complete(key, cl, r)
	callResolver(cl.ctx, in, req, cr, r)
	r.returned = true
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
	if r.err == nil && c.keep > 0 && c.cacheable(cl, r.ans) && (current || c.entries[key] == nil) {
		c.insert(key, r.ans, now)
	}
	c.running--
	if c.running == 0 {
		c.evictedAt = nil
		c.evictAllBefore = 0
	}
	report := c.sizeReport()
	c.mu.Unlock()
	cl.ans, cl.err, cl.status = r.ans, r.err, r.status
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
	c := in.cache
	stop := context.AfterFunc(req.Context(), func() { c.leave(cl) })
	if leader {
		runCall(in, key, cl, req, cr)
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
	key := cr.key()
	now := time.Now().UnixNano()
	ans, cl, leader := in.cache.join(key, now, m.settings.timeout)
	if ans != nil {
		return ans, 0
	}
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
		if stale := in.cache.stale(key, now); stale != nil {
			return stale, 0
		}
	}
	if m.settings.anonymousOnError {
		return nil, 0
	}
	return nil, failureStatus(cl.err)
}

// statusClientClosedRequest answers a request whose client went away while
// it waited for its resolver call (nginx's 499).
const statusClientClosedRequest = 499
