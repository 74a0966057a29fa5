package authgear

import (
	"context"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"
)

// newMiddleware builds the middleware called name, edited by edit, with an
// unreachable resolver and a next handler that does nothing.
func newMiddleware(tb testing.TB, name string, edit func(*Config)) *Middleware {
	tb.Helper()
	cfg := CreateConfig()
	cfg.ResolverURL = "http://127.0.0.1:1/_resolver/resolve"
	if edit != nil {
		edit(cfg)
	}
	h, err := New(context.Background(), http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}), cfg, name)
	if err != nil {
		tb.Fatal(err)
	}
	return h.(*Middleware)
}

func TestReloadsRetireTheNamesTheyNoLongerCreate(t *testing.T) {
	t.Cleanup(func() { clock = time.Now })
	newAt := func(at time.Time, name string) *Middleware { // New at the registry's time at
		clock = func() time.Time { return at }
		return newMiddleware(t, name, nil)
	}
	registered := func(prefix string) int {
		registryMu.Lock()
		defer registryMu.Unlock()
		n := 0
		for name := range registry {
			if strings.HasPrefix(name, prefix) {
				n++
			}
		}
		return n
	}
	base := time.Now().Add(time.Hour) // after every other test's New
	// The first configuration has 200 middleware names.
	var first []*Middleware
	for i := 0; i < 200; i++ {
		first = append(first, newAt(base, t.Name()+"/old-"+strconv.Itoa(i)))
	}
	kept := newAt(base, t.Name()+"/kept")
	insert := func() { // an answer into the first old name's cache
		first[0].cache.mu.Lock()
		first[0].cache.insert("k", &answer{userID: "u"}, base.UnixNano(), 0)
		first[0].cache.mu.Unlock()
	}
	insert()

	// A reload keeps one of them; the others are retired at the next.
	if again := newAt(base.Add(time.Minute), t.Name()+"/kept"); again.shared != kept.shared {
		t.Fatal("a reload with the same settings did not keep the instance")
	}
	if n := registered(t.Name() + "/old-"); n != 200 {
		t.Fatalf("%d old names registered during the reload that dropped them, want 200 until the next", n)
	}
	if again := newAt(base.Add(2*time.Minute), t.Name()+"/kept"); again.shared != kept.shared {
		t.Fatal("a second reload did not keep the instance")
	}
	if n := registered(t.Name() + "/old-"); n != 0 {
		t.Fatalf("%d names registered that two reloads no longer created, want 0", n)
	}
	if n := first[0].cache.len(); n != 0 {
		t.Fatalf("a retired instance's cache holds %d entries", n)
	}
	// A retired handler still in use works, uncached.
	insert()
	if n := first[0].cache.len(); n != 0 {
		t.Fatal("a retired cache cached an answer: webhook evictions no longer reach it")
	}
}

// panickingTransport is a resolver whose calls panic.
type panickingTransport struct{}

func (panickingTransport) RoundTrip(*http.Request) (*http.Response, error) {
	panic("resolver transport panicked")
}

func TestAPanickingCallLeavesNoKeyInFlight(t *testing.T) {
	m := newMiddleware(t, t.Name(), nil)
	m.shared.roundTrip = panickingTransport{}
	serve := func() (panicked bool) {
		defer func() { panicked = recover() != nil }()
		req := httptest.NewRequest(http.MethodGet, "http://api.example.test/", nil)
		req.Header.Set("Authorization", "Bearer x")
		m.ServeHTTP(httptest.NewRecorder(), req)
		return false
	}
	if !serve() {
		t.Fatal("the transport's panic did not reach the caller")
	}
	m.cache.mu.Lock()
	inflight := len(m.cache.inflight)
	m.cache.mu.Unlock()
	if inflight != 0 {
		t.Fatalf("%d keys left in flight after a panicking call: later requests would wait until their clients gave up", inflight)
	}
	if !serve() {
		t.Fatal("the second request did not make a call of its own")
	}
}

// TestNewWithChangedSettingsLeavesNoGarbage: Traefik calls New on every
// reload, so a replaced shared instance must become garbage (under Yaegi an
// http.Client's CheckRedirect once kept them all; see the package doc).
func TestNewWithChangedSettingsLeavesNoGarbage(t *testing.T) {
	liveHeap := func() int64 { // the bytes still reachable
		runtime.GC()
		runtime.GC()
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		return int64(m.HeapAlloc)
	}
	newWithTTL := func(i int) {
		newMiddleware(t, "garbage-"+t.Name(), func(c *Config) { c.CacheTTL = strconv.Itoa(60+i%2) + "s" })
	}
	const warm, calls = 200, 2000
	for i := 0; i < warm; i++ {
		newWithTTL(i)
	}
	before := liveHeap()
	for i := 0; i < calls; i++ {
		newWithTTL(i)
	}
	per := (liveHeap() - before) / calls
	if per > 1024 {
		t.Errorf("each New with changed settings leaves %d bytes reachable, want none (at most 1024 for noise)", per)
	}
}
