package authgear

import (
	"encoding/json"
	"strconv"
	"sync"
	"time"
)

// replayWindow is how long after its context.timestamp a verified delivery
// is acted on in full (evicted, relayed, answered with counts), and so how
// long the ids of accepted deliveries are remembered. A captured signed
// delivery stays valid forever: inside the window its id gives a replay
// away, outside it its timestamp does. Ten minutes leaves room for a slow
// delivery and a relay behind it, while maxRememberedEvents ids still cover
// more than 16 deliveries a second for the whole window. A delivery that
// comes later (a retry or a manual re-delivery from the portal keeps the
// original timestamp) is still evicted locally: that is what its user needs.
const replayWindow = 10 * time.Minute

// clockSkew is how far ahead of this replica's clock a delivery's
// context.timestamp may be: Authgear's clock and Traefik's are set apart.
const clockSkew = time.Minute

// maxRememberedEvents bounds the ids remembered for one Authgear app, so
// that a flood of signed deliveries cannot grow the memory without end.
const maxRememberedEvents = 10000

// maxEventIDLength bounds a remembered id (Authgear's are 16 hex digits):
// a longer one is not remembered, and the delivery is handled as late.
const maxEventIDLength = 128

// admission is what a verified delivery may do, given its timestamp and id.
type admission int

const (
	// admitted: fresh and new; evict, relay, answer with the counts.
	admitted admission = iota
	// duplicateEvent: its id was accepted within the window; it changes
	// nothing and its answer tells nothing.
	duplicateEvent
	// lateEvent: its context.timestamp is missing, older than replayWindow
	// or more than clockSkew ahead, or it has no id to remember: a replay
	// could not be told from it, so it evicts locally only, unrelayed and
	// without counts.
	lateEvent
	// unrememberedEvent: fresh and new, but the app's memory is full of
	// unexpired ids. Remembering it would mean forgetting an id whose replay
	// must still be recognised, and not remembering it would let it be
	// replayed: either way a replay could pass, so it is handled as late.
	unrememberedEvent
)

// eventMemory remembers the ids of accepted deliveries, oldest first, until
// they expire, and at most limit of them. It is pruned by age when an id is
// admitted: no goroutine or timer runs for it. eventMemoriesMu protects it.
type eventMemory struct {
	limit   int              // the most ids remembered at once
	expires map[string]int64 // id → UnixNano past which it is forgotten
	order   []string         // the ids from head on, oldest first
	head    int              // order's first id still remembered
	newest  int64            // the latest expiry: past it the memory is empty
}

// newEventMemory makes an empty memory of at most limit ids.
func newEventMemory(limit int) *eventMemory {
	return &eventMemory{limit: limit, expires: map[string]int64{}}
}

// admit reports what a fresh delivery with the id may do at now (UnixNano),
// and remembers the id if it is admitted: for replayWindow and clockSkew,
// since a delivery accepted clockSkew ahead of its timestamp stays fresh
// for replayWindow after that timestamp.
func (em *eventMemory) admit(id string, now int64) admission {
	em.forgetExpired(now)
	if _, seen := em.expires[id]; seen {
		return duplicateEvent
	}
	if len(em.expires) >= em.limit {
		return unrememberedEvent
	}
	until := now + int64(replayWindow+clockSkew)
	em.expires[id] = until
	em.order = append(em.order, id)
	em.newest = until
	return admitted
}

// forgetExpired drops the ids expired at now, oldest first, and compacts
// order once half of it is dropped, so it never holds more than twice limit.
func (em *eventMemory) forgetExpired(now int64) {
	for em.head < len(em.order) && em.expires[em.order[em.head]] < now {
		delete(em.expires, em.order[em.head])
		em.order[em.head] = ""
		em.head++
	}
	if em.head > 0 && em.head >= len(em.order)/2 {
		n := copy(em.order, em.order[em.head:])
		em.order = em.order[:n]
		em.head = 0
	}
}

var (
	eventMemoriesMu sync.Mutex                  // protects eventMemories and each memory
	eventMemories   = map[string]*eventMemory{} // by Authgear app (instance.app)
)

// admitEvent reports what a verified delivery for the Authgear app may do
// at now. The memory is the app's, as eviction is: a replay to another
// middleware of the same app, or a relay back to this replica, is a
// duplicate too. Each Traefik process has its own, so a replica receiving a
// relay checks it against the ids it has seen itself.
func admitEvent(app string, event *webhookEvent, now time.Time) admission {
	if !freshTimestamp(event.Context.Timestamp, now) || event.ID == "" || len(event.ID) > maxEventIDLength {
		return lateEvent
	}
	nanos := now.UnixNano()
	eventMemoriesMu.Lock()
	defer eventMemoriesMu.Unlock()
	forgetIdleApps(nanos)
	em := eventMemories[app]
	if em == nil {
		em = newEventMemory(maxRememberedEvents)
		eventMemories[app] = em
	}
	return em.admit(event.ID, nanos)
}

// forgetIdleApps drops the memories whose every id has expired at now, so
// that an app no longer configured (or no longer delivering) keeps nothing;
// eventMemoriesMu must be held.
func forgetIdleApps(now int64) {
	for app, em := range eventMemories {
		if em.newest < now {
			delete(eventMemories, app)
		}
	}
}

// freshTimestamp reports whether context.timestamp (Unix seconds) is at most
// replayWindow before now and at most clockSkew after it; a missing or
// non-integer one is not fresh.
func freshTimestamp(raw json.RawMessage, now time.Time) bool {
	seconds, err := strconv.ParseInt(string(raw), 10, 64)
	if err != nil {
		return false
	}
	age := now.Sub(time.Unix(seconds, 0))
	return age <= replayWindow && age >= -clockSkew
}
