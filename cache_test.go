package authgear

import (
	"errors"
	"testing"
	"time"
)

// put resolves key as the user at time now, as the middleware does.
func put(t *testing.T, c *cache, key, user string, now int64) {
	t.Helper()
	j := c.join(key, now, 0, time.Second, &servedCounts{})
	if !j.leader {
		t.Fatalf("join(%q) at %d: not the leader", key, now)
	}
	c.finish(key, j.cl, &callResult{ans: &answer{userID: user}, returned: true}, now)
}

// has reports whether key has a fresh answer at now (ending any call it starts).
func has(c *cache, key string, now int64) bool {
	j := c.join(key, now, 0, time.Second, &servedCounts{})
	if j.leader {
		c.finish(key, j.cl, &callResult{err: errTest, returned: true}, now)
	}
	return j.ans != nil
}

// errTest is the resolver's failure in these tests.
var errTest = errors.New("no resolver in this test")

// checkLinks verifies that the lists and the user index hold the map's entries.
func checkLinks(t *testing.T, c *cache) {
	t.Helper()
	n, protected := 0, 0
	for _, l := range []*entryList{&c.probation, &c.protected} {
		for e := l.front; e != nil; e = e.nextRecent {
			if c.entries[e.key] != e {
				t.Fatalf("recency list holds %q, not in the map", e.key)
			}
			if e.protected != (l == &c.protected) {
				t.Fatalf("entry %q is in the wrong segment", e.key)
			}
			if e.protected {
				protected++
			}
			n++
		}
	}
	if n != len(c.entries) || protected != c.protectedLen || protected > c.protectedMax {
		t.Fatalf("recency lists have %d entries (%d protected, counted %d, max %d), map %d", n, protected, c.protectedLen, c.protectedMax, len(c.entries))
	}
	n = 0
	for e := c.inserted.front; e != nil; e = e.nextInserted {
		n++
	}
	if n != len(c.entries) {
		t.Fatalf("insertion list has %d entries, map %d", n, len(c.entries))
	}
	n = 0
	for user, first := range c.byUser {
		if first.prevUser != nil {
			t.Fatalf("user %q's list starts in the middle", user)
		}
		for e := first; e != nil; e = e.nextUser {
			if e.ans.userID != user || c.entries[e.key] != e {
				t.Fatalf("user %q's list holds a stranger or a removed entry", user)
			}
			n++
		}
	}
	for _, e := range c.entries {
		if e.ans.userID != "" {
			n--
		}
	}
	if n != 0 {
		t.Fatalf("the user index has %d entries more than the map has with a user", n)
	}
}

func TestCacheEvictsExpiredEntriesFirstThenLeastRecentlyUsed(t *testing.T) {
	c := newCache(100, 0, 0, 2)
	put(t, c, "a", "alice", 0) // fresh until 100
	put(t, c, "b", "bob", 50)  // fresh until 150
	if !has(c, "a", 60) {      // a is now the most recently used
		t.Fatal("a not cached")
	}
	put(t, c, "c", "carol", 120) // a has expired: it goes, although b is the least recently used
	if has(c, "a", 120) || !has(c, "b", 120) || !has(c, "c", 120) {
		t.Fatal("after inserting c: want b and c cached, not a")
	}
	checkLinks(t, c)
	// Nothing has expired: the least recently used, b once c is touched, goes.
	has(c, "c", 130)
	put(t, c, "d", "dave", 140)
	if has(c, "b", 140) || !has(c, "c", 140) || !has(c, "d", 140) {
		t.Fatal("after inserting d: want c and d cached, not b")
	}
	checkLinks(t, c)
	if len(c.byUser) != 2 || c.byUser["alice"] != nil || c.byUser["bob"] != nil {
		t.Fatalf("user index %v, want carol and dave only", c.byUser)
	}
}

func TestCacheIsBoundedAndCountsEvictions(t *testing.T) {
	c := newCache(1000, 0, 0, 10)
	for i := 0; i < 100; i++ {
		put(t, c, string(rune('A'+i)), "user", int64(i))
		if c.len() > 10 {
			t.Fatalf("cache holds %d entries, bound 10", c.len())
		}
	}
	checkLinks(t, c)
	if c.inserts != 100 || c.evicted != 90 {
		t.Fatalf("inserts %d, evicted %d; want 100, 90", c.inserts, c.evicted)
	}
	off := newCache(0, 0, 0, 10)
	put(t, off, "a", "alice", 0)
	if off.len() != 0 {
		t.Fatalf("cache with ttl 0 holds %d entries", off.len())
	}
}

func TestCacheExpiryAndStaleWindow(t *testing.T) {
	c := newCache(100, 0, 50, 10)
	put(t, c, "a", "alice", 0)
	tests := []struct {
		now          int64
		fresh, stale bool
	}{{99, true, true}, {100, false, true}, {149, false, true}, {150, false, false}}
	for _, tt := range tests {
		j := c.join("a", tt.now, 0, time.Second, &servedCounts{})
		if (j.ans != nil) != tt.fresh {
			t.Fatalf("at %d: fresh = %v, want %v", tt.now, j.ans != nil, tt.fresh)
		}
		if j.leader {
			// The resolver fails: the stale answer is what is left.
			w := c.join("a", tt.now, 0, time.Second, &servedCounts{}) // a waiter joins the call
			if w.cl != j.cl {
				t.Fatal("a concurrent miss did not join the call under way")
			}
			c.finish("a", j.cl, &callResult{err: errTest, returned: true}, tt.now)
		}
		if got := c.stale("a", tt.now) != nil; got != tt.stale {
			t.Fatalf("at %d: stale = %v, want %v", tt.now, got, tt.stale)
		}
	}
}

func TestEvictUserRemovesExactlyThatUsersEntries(t *testing.T) {
	c := newCache(1000, 0, 0, 100)
	put(t, c, "alice-phone", "alice", 0)
	put(t, c, "alice-laptop", "alice", 1)
	put(t, c, "alice-tablet", "alice", 2)
	put(t, c, "bob-phone", "bob", 3)
	put(t, c, "anonymous", "", 4)
	if n := c.evictUser("alice"); n != 3 {
		t.Fatalf("evictUser removed %d entries, want 3", n)
	}
	checkLinks(t, c)
	for _, key := range []string{"alice-phone", "alice-laptop", "alice-tablet"} {
		if has(c, key, 10) {
			t.Fatalf("%s still cached", key)
		}
	}
	if !has(c, "bob-phone", 10) || !has(c, "anonymous", 10) {
		t.Fatal("other entries were evicted")
	}
	if n := c.evictUser("alice"); n != 0 {
		t.Fatalf("second eviction removed %d", n)
	}
	if n := c.evictUser("nobody"); n != 0 {
		t.Fatalf("evicting an unknown user removed %d", n)
	}

	// The user index follows a replacement and a capacity eviction.
	c = newCache(10, 0, 0, 2)
	put(t, c, "k1", "alice", 0)
	put(t, c, "k1", "alice", 20) // refreshed after expiry: replaced, not duplicated
	put(t, c, "k2", "alice", 21)
	put(t, c, "k3", "bob", 22) // evicts k1, the least recently used
	checkLinks(t, c)
	if n := c.evictUser("alice"); n != 1 {
		t.Fatalf("evictUser removed %d, want 1 (k2)", n)
	}
	checkLinks(t, c)
}

func TestEvictionWinsOverAResolveUnderWay(t *testing.T) {
	c := newCache(1000, 0, 0, 10)
	j := c.join("bob-session", 0, 0, time.Second, &servedCounts{})
	if !j.leader {
		t.Fatal("not the leader")
	}
	// Bob is disabled while his session is being resolved with the old answer.
	c.evictUser("bob")
	c.finish("bob-session", j.cl, &callResult{ans: &answer{userID: "bob"}, returned: true}, 1)
	if j.cl.ans == nil || j.cl.ans.userID != "bob" {
		t.Fatal("the waiting requests did not get the call's answer")
	}
	if has(c, "bob-session", 2) {
		t.Fatal("an answer resolved before the eviction was cached after it")
	}
	// The next resolve, started after the eviction, is cached again.
	put(t, c, "bob-session", "bob", 3)
	if !has(c, "bob-session", 4) {
		t.Fatal("a resolve started after the eviction was not cached")
	}
}
