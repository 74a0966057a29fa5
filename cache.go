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
	running  int               // resolver calls under way, detached ones included
	inserts  int64             // answers cached since the cache was made
	reported int64             // c.inserts at the last size report
	evicted  int64             // entries removed to make room
	retired  bool              // the registry let go of the cache: it caches nothing more

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

// sizeReport returns the line the cache logs every statsEvery insertions,
// or ""; c.mu must be held.
func (c *cache) sizeReport() string {
	if c.inserts == 0 || c.inserts%statsEvery != 0 || c.reported == c.inserts {
		return ""
	}
	c.reported = c.inserts
	return fmt.Sprintf("cache holds %d entries (max %d) after %d insertions, %d evicted to make room", len(c.entries), c.maxSize, c.inserts, c.evicted)
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
	if e := c.entries[key]; e != nil && now < e.dead {
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
	for e := c.recent.front; e != nil; e = c.recent.front {
		c.remove(e)
	}
}

// len returns the number of entries, expired ones included.
func (c *cache) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.entries)
}

// insert adds or replaces the entry for key; c.mu must be held.
func (c *cache) insert(key string, ans *answer, now int64) {
	if c.retired {
		return
	}
	c.inserts++
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
