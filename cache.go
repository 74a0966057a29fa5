package authgear

import (
	"fmt"
	"os"
	"sync"
)

// cache holds resolver answers by credential key, with expiry, bounded in
// size, and coalesces concurrent misses for the same key into one resolver
// call. It starts no goroutine: expiry is checked on access, and a full cache
// makes room on insert, expired entries first, then the least recently used.
//
// Three intrusive lists thread the entries: recency (for LRU eviction),
// insertion order (which is expiry order, since every entry lives as long),
// and one list per user (so that a webhook evicts a user without a scan).
type cache struct {
	ttl     int64 // nanoseconds an answer is fresh
	keep    int64 // nanoseconds an answer is kept: ttl + staleIfError
	maxSize int
	name    string // the middleware's, for the size reports

	mu       sync.Mutex        // protects everything below
	entries  map[string]*entry // by credential key
	recent   entryList         // most recently used first
	inserted entryList         // oldest insertion (soonest expiry) first
	byUser   map[string]*entry // first entry of each user's list
	inflight map[string]*call  // resolver calls under way, by credential key
	inserts  int64             // answers cached since the cache was made
	evicted  int64             // entries removed to make room
}

// statsEvery is how many insertions apart the cache reports its size on
// stdout, which Traefik logs at DEBUG level.
const statsEvery = 10000

// entry is one cached answer.
type entry struct {
	key     string
	ans     *answer
	expires int64 // UnixNano after which the answer is no longer fresh
	dead    int64 // UnixNano after which it is not even kept for staleIfError

	prevRecent, nextRecent     *entry
	prevInserted, nextInserted *entry
	prevUser, nextUser         *entry
}

// call is one resolver call under way; the requests that miss the same key
// while it runs wait for it and share its result.
type call struct {
	done chan struct{} // closed when ans and err are set
	ans  *answer
	err  error
	// evicted is set when a user eviction arrives while the call runs: its
	// answer may predate the eviction, so it is returned but not cached.
	evicted bool
}

// entryList is a doubly linked list of entries through one pair of links.
type entryList struct {
	front, back *entry
}

func newCache(ttl, staleIfError int64, maxSize int) *cache {
	return &cache{
		ttl:      ttl,
		keep:     ttl + staleIfError,
		maxSize:  maxSize,
		entries:  map[string]*entry{},
		byUser:   map[string]*entry{},
		inflight: map[string]*call{},
	}
}

// touch moves the entry to the front of the recency list; c.mu must be held.
func touch(c *cache, e *entry) {
	unlinkRecent(c, e)
	pushRecent(c, e)
}

// lookup returns the fresh answer for key, or else the call to wait for. When
// leader is true the caller must make the resolver call and report it with
// complete; other callers wait for call.done.
func (c *cache) lookup(key string, now int64) (ans *answer, cl *call, leader bool) {
	c.mu.Lock()
	if e := c.entries[key]; e != nil && now < e.expires {
		if c.recent.front != e {
			touch(c, e)
		}
		c.mu.Unlock()
		return e.ans, nil, false
	}
	if cl = c.inflight[key]; cl != nil {
		c.mu.Unlock()
		return nil, cl, false
	}
	cl = &call{done: make(chan struct{})}
	c.inflight[key] = cl
	c.mu.Unlock()
	return nil, cl, true
}

// complete records the result of the call for key, caches a successful
// answer unless an eviction overtook the call, and wakes the waiters.
func (c *cache) complete(key string, cl *call, ans *answer, err error, now int64) {
	c.mu.Lock()
	delete(c.inflight, key)
	report := ""
	if err == nil && !cl.evicted && c.keep > 0 {
		c.insert(key, ans, now)
		c.inserts++
		if c.inserts%statsEvery == 0 {
			report = fmt.Sprintf("cache holds %d entries (max %d) after %d insertions, %d evicted to make room", len(c.entries), c.maxSize, c.inserts, c.evicted)
		}
	}
	c.mu.Unlock()
	cl.ans = ans
	cl.err = err
	close(cl.done)
	if report != "" {
		fmt.Fprintf(os.Stdout, "authgear middleware %q: %s\n", c.name, report)
	}
}

// stale returns the answer kept for key within staleIfError after its
// expiry, or nil.
func (c *cache) stale(key string, now int64) *answer {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e := c.entries[key]; e != nil && now < e.dead {
		return e.ans
	}
	return nil
}

// evictUser removes every entry of the user, and marks the calls under way
// so that answers resolved before the eviction are not cached after it. It
// returns the number of entries removed.
func (c *cache) evictUser(userID string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for e := c.byUser[userID]; e != nil; e = c.byUser[userID] {
		c.remove(e)
		n++
	}
	for _, cl := range c.inflight {
		cl.evicted = true
	}
	return n
}

// len returns the number of entries, expired ones included.
func (c *cache) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.entries)
}

// insert adds or replaces the entry for key; c.mu must be held.
func (c *cache) insert(key string, ans *answer, now int64) {
	if old := c.entries[key]; old != nil {
		c.remove(old)
	}
	for len(c.entries) >= c.maxSize {
		victim := c.inserted.front
		if victim == nil || now < victim.expires {
			victim = c.recent.back
		}
		c.remove(victim)
		c.evicted++
	}
	e := &entry{key: key, ans: ans, expires: now + c.ttl, dead: now + c.keep}
	c.entries[key] = e
	pushRecent(c, e)
	if c.inserted.back == nil {
		c.inserted.front = e
	} else {
		c.inserted.back.nextInserted = e
		e.prevInserted = c.inserted.back
	}
	c.inserted.back = e
	if ans.userID != "" {
		if first := c.byUser[ans.userID]; first != nil {
			e.nextUser = first
			first.prevUser = e
		}
		c.byUser[ans.userID] = e
	}
}

// remove unlinks the entry from the map and every list; c.mu must be held.
func (c *cache) remove(e *entry) {
	delete(c.entries, e.key)
	unlinkRecent(c, e)

	if e.prevInserted == nil {
		c.inserted.front = e.nextInserted
	} else {
		e.prevInserted.nextInserted = e.nextInserted
	}
	if e.nextInserted == nil {
		c.inserted.back = e.prevInserted
	} else {
		e.nextInserted.prevInserted = e.prevInserted
	}
	e.prevInserted = nil
	e.nextInserted = nil

	if e.ans.userID != "" {
		if e.prevUser == nil {
			if e.nextUser == nil {
				delete(c.byUser, e.ans.userID)
			} else {
				c.byUser[e.ans.userID] = e.nextUser
			}
		} else {
			e.prevUser.nextUser = e.nextUser
		}
		if e.nextUser != nil {
			e.nextUser.prevUser = e.prevUser
		}
		e.prevUser = nil
		e.nextUser = nil
	}
}

// pushRecent puts the entry at the front of the recency list.
func pushRecent(c *cache, e *entry) {
	e.prevRecent = nil
	e.nextRecent = c.recent.front
	if c.recent.front == nil {
		c.recent.back = e
	} else {
		c.recent.front.prevRecent = e
	}
	c.recent.front = e
}

// unlinkRecent takes the entry out of the recency list.
func unlinkRecent(c *cache, e *entry) {
	if e.prevRecent == nil {
		c.recent.front = e.nextRecent
	} else {
		e.prevRecent.nextRecent = e.nextRecent
	}
	if e.nextRecent == nil {
		c.recent.back = e.prevRecent
	} else {
		e.nextRecent.prevRecent = e.prevRecent
	}
	e.prevRecent = nil
	e.nextRecent = nil
}
