package authgear

import (
	"fmt"
	"os"
	"sync"
)

// cache holds resolver answers by credential key, bounded in size, with
// three windows per entry (fresh, revalidating, stale-if-error), and
// coalesces concurrent misses for the same key into one resolver call
// (flight.go). It starts no goroutine: expiry is checked on access, and a
// full cache makes room on insert.
//
// It is a segmented LRU, in the spirit of groupcache's lru: an entry enters
// the probation segment, and moves to the protected one (at most 80 % of the
// entries) when it is hit again and holds a valid session. A full cache
// evicts an entry past all its windows first, then the least recently used
// on probation, so a flood of credentials that Authgear does not recognise
// (a scanner's random cookies, junk tokens, each sent once or many times)
// cycles through probation and cannot evict signed-in users who came back.
//
// Intrusive lists thread the entries: one recency list per segment,
// insertion order (for the entries past all their windows), and one list per
// user (so that a webhook evicts a user without a scan).
type cache struct {
	ttl          int64 // nanoseconds an answer is fresh (cacheTTL)
	revalidate   int64 // then served at once while refreshed (staleWhileRevalidate)
	staleIfError int64 // nanoseconds after expiry an answer may stand in for a failed call
	maxSize      int
	protectedMax int    // bound of the protected segment
	name         string // the middleware's, for the size reports

	mu           sync.Mutex        // protects everything below
	entries      map[string]*entry // by credential key
	probation    entryList         // seen once, most recently used first
	protected    entryList         // hit again, most recently used first
	protectedLen int
	inserted     entryList         // oldest insertion first
	byUser       map[string]*entry // first entry of each user's list
	inflight     map[string]*call  // resolver calls under way, by credential key
	running      int               // resolver calls under way, detached ones included
	refreshing   int               // background refreshes under way
	inserts      int64             // answers cached since the cache was made
	reported     int64             // c.inserts at the last size report
	evicted      int64             // entries removed to make room
	retired      bool              // the registry let go of the cache: it caches nothing more

	// Webhook evictions, for the calls under way (flight.go): epoch counts
	// evictions; evictedAt holds each user's latest eviction epoch while a
	// call runs that may predate it, and evictAllBefore stands for the whole
	// map when it grows past maxEvictedUsers.
	epoch          int64
	evictedAt      map[string]int64
	evictAllBefore int64
}

// maxEvictedUsers bounds cache.evictedAt.
const maxEvictedUsers = 4096

// statsEvery is how many insertions apart the cache reports its size on
// stdout, which Traefik logs at DEBUG level.
const statsEvery = 10000

// entry is one cached answer. Its times are UnixNano; a bearer JWT's exp
// caps all three.
type entry struct {
	key     string
	ans     *answer
	expires int64 // fresh until then
	// hitUntil is expires for an answer without cookies to forward, else 0:
	// the hit path's one test.
	hitUntil   int64
	revalidate int64 // until then served at once while a background call refreshes it
	staleUntil int64 // until then it may stand in for a failed resolver call
	protected  bool  // in the protected segment

	prevRecent, nextRecent     *entry
	prevInserted, nextInserted *entry
	prevUser, nextUser         *entry
}

// entryList is a doubly linked list of entries through one pair of links.
type entryList struct {
	front, back *entry
}

func newCache(ttl, revalidate, staleIfError int64, maxSize int) *cache {
	if ttl == 0 {
		revalidate = 0 // cacheTTL 0 turns caching off, whatever staleWhileRevalidate says
	}
	return &cache{
		ttl:          ttl,
		revalidate:   revalidate,
		staleIfError: staleIfError,
		maxSize:      maxSize,
		protectedMax: maxSize * 8 / 10,
		entries:      map[string]*entry{},
		byUser:       map[string]*entry{},
		inflight:     map[string]*call{},
	}
}

// touch records a hit: a protected entry moves to the front of its segment;
// one on probation is promoted (demoting the protected segment's least
// recently used if it is full) when it holds a valid session, and otherwise
// moves to the front of probation; c.mu must be held.
//
// Only a signed-in user's answer is ever promoted: a scanner that sends
// each junk credential twice (or a thousand times) still cycles through
// probation, and cannot push a returning user out of the protected segment.
func touch(c *cache, e *entry) {
	if e.protected {
		unlinkFrom(&c.protected, e)
		pushFront(&c.protected, e)
		return
	}
	unlinkFrom(&c.probation, e)
	if e.ans.userID == "" {
		pushFront(&c.probation, e)
		return
	}
	e.protected = true
	pushFront(&c.protected, e)
	c.protectedLen++
	if c.protectedLen > c.protectedMax {
		d := c.protected.back
		unlinkFrom(&c.protected, d)
		d.protected = false
		c.protectedLen--
		pushFront(&c.probation, d)
	}
}

// servedBy returns how many answers the cache served fresh to one
// middleware, and how many past cacheTTL while they were refreshed.
func (c *cache) servedBy(counts *servedCounts) (int64, int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return counts.hits, counts.revalidated
}

// sizeReport returns the line the cache logs every statsEvery insertions,
// or ""; c.mu must be held.
func (c *cache) sizeReport() string {
	if c.inserts == 0 || c.inserts%statsEvery != 0 || c.reported == c.inserts {
		return ""
	}
	c.reported = c.inserts
	return fmt.Sprintf("cache holds %d entries (max %d, %d protected) after %d insertions, %d evicted to make room", len(c.entries), c.maxSize, c.protectedLen, c.inserts, c.evicted)
}

// report writes a size report on stdout, which Traefik logs at DEBUG level.
func (c *cache) report(line string) {
	if line != "" {
		fmt.Fprintf(os.Stdout, "authgear middleware %q: %s\n", c.name, line)
	}
}

// stale returns the answer kept for key within staleIfError after its
// expiry, or nil.
func (c *cache) stale(key string, now int64) *answer {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e := c.entries[key]; e != nil && now < e.staleUntil {
		return e.ans
	}
	return nil
}

// evictUser removes every entry of the user and starts a new eviction
// epoch: no request joins a call that started before it, and an answer for
// the user from such a call is not cached (flight.go). It returns the number
// of entries removed.
func (c *cache) evictUser(userID string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for e := c.byUser[userID]; e != nil; e = c.byUser[userID] {
		c.remove(e)
		n++
	}
	c.epoch++
	if c.running > 0 {
		if c.evictedAt == nil {
			c.evictedAt = map[string]int64{}
		}
		c.evictedAt[userID] = c.epoch
		if len(c.evictedAt) > maxEvictedUsers {
			c.evictAllBefore = c.epoch
			c.evictedAt = nil
		}
	}
	return n
}

// retire empties the cache and makes it cache nothing more: the registry no
// longer holds it, so webhook evictions would not reach it.
func (c *cache) retire() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.retired = true
	for e := c.inserted.front; e != nil; e = c.inserted.front {
		c.remove(e)
	}
}

// evictedCount returns the number of entries removed to make room.
func (c *cache) evictedCount() int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.evicted
}

// len returns the number of entries, expired ones included.
func (c *cache) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.entries)
}

// deadline is when e may be dropped: the end of its revalidation or its
// staleIfError window, whichever is later. (Computed, not stored: an entry
// stays within 128 bytes, one allocation size class.)
func deadline(e *entry) int64 {
	if e.staleUntil > e.revalidate {
		return e.staleUntil
	}
	return e.revalidate
}

// insert adds or replaces the entry for key at time now, its windows capped
// at notAfter when that is not 0; c.mu must be held.
func (c *cache) insert(key string, ans *answer, now, notAfter int64) {
	e := &entry{key: key, ans: ans, expires: now + c.ttl}
	e.revalidate = e.expires + c.revalidate
	e.staleUntil = e.expires + c.staleIfError
	if notAfter != 0 {
		e.expires = minTime(e.expires, notAfter)
		e.revalidate = minTime(e.revalidate, notAfter)
		e.staleUntil = minTime(e.staleUntil, notAfter)
	}
	if len(ans.cookies) == 0 {
		e.hitUntil = e.expires
	}
	if c.retired || deadline(e) <= now {
		return // nothing to keep: the cache is off, or the token has expired
	}
	if old := c.entries[key]; old != nil {
		c.remove(old)
	}
	for len(c.entries) >= c.maxSize {
		victim := c.inserted.front
		if victim == nil || now < deadline(victim) {
			victim = c.probation.back
			if victim == nil {
				victim = c.protected.back
			}
		}
		c.remove(victim)
		c.evicted++
	}
	c.inserts++
	ans.until = e.revalidate
	c.entries[key] = e
	pushFront(&c.probation, e)
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

// minTime returns the earlier of two times.
func minTime(a, b int64) int64 {
	if a < b {
		return a
	}
	return b
}

// remove unlinks the entry from the map and every list; c.mu must be held.
func (c *cache) remove(e *entry) {
	delete(c.entries, e.key)
	if e.protected {
		unlinkFrom(&c.protected, e)
		c.protectedLen--
		e.protected = false
	} else {
		unlinkFrom(&c.probation, e)
	}

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

// pushFront puts the entry at the front of a recency list.
func pushFront(l *entryList, e *entry) {
	e.prevRecent = nil
	e.nextRecent = l.front
	if l.front == nil {
		l.back = e
	} else {
		l.front.prevRecent = e
	}
	l.front = e
}

// unlinkFrom takes the entry out of a recency list.
func unlinkFrom(l *entryList, e *entry) {
	if e.prevRecent == nil {
		l.front = e.nextRecent
	} else {
		e.prevRecent.nextRecent = e.nextRecent
	}
	if e.nextRecent == nil {
		l.back = e.prevRecent
	} else {
		e.nextRecent.prevRecent = e.prevRecent
	}
	e.prevRecent = nil
	e.nextRecent = nil
}
