package authgear

import (
	"context"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strconv"
	"testing"
	"time"
)

// atClock moves the registry's clock to t for the test.
func atClock(t *testing.T, at time.Time) {
	t.Helper()
	clock = func() time.Time { return at }
	t.Cleanup(func() { clock = time.Now })
}

func TestReloadsRetireTheNamesTheyNoLongerCreate(t *testing.T) {
	cfg := CreateConfig()
	cfg.ResolverURL = "http://127.0.0.1:1/_resolver/resolve"
	newAt := func(at time.Time, name string) *Middleware {
		atClock(t, at)
		h, err := New(context.Background(), http.NotFoundHandler(), cfg, name)
		if err != nil {
			t.Fatal(err)
		}
		return h.(*Middleware)
	}
	registered := func(prefix string) int {
		registryMu.Lock()
		defer registryMu.Unlock()
		n := 0
		for name := range registry {
			if len(name) >= len(prefix) && name[:len(prefix)] == prefix {
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
	first[0].cache.mu.Lock()
	first[0].cache.insert("k", &answer{userID: "u"}, base.UnixNano(), 0)
	first[0].cache.mu.Unlock()

	// A reload keeps one of them: the others are retired at the next one.
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
	first[0].cache.mu.Lock()
	first[0].cache.insert("k", &answer{userID: "u"}, base.UnixNano(), 0)
	first[0].cache.mu.Unlock()
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
	cfg := CreateConfig()
	cfg.ResolverURL = "http://127.0.0.1:1/_resolver/resolve"
	h, err := New(context.Background(), http.NotFoundHandler(), cfg, t.Name())
	if err != nil {
		t.Fatal(err)
	}
	m := h.(*Middleware)
	m.shared.roundTrip = panickingTransport{}
	serve := func() (panicked bool) {
		defer func() { panicked = recover() != nil }()
		req := httptest.NewRequest(http.MethodGet, "http://api.example.test/", nil)
		req.Header.Set("Authorization", "Bearer x")
		h.ServeHTTP(httptest.NewRecorder(), req)
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

// liveHeap returns the bytes still reachable after garbage collection.
func liveHeap() int64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return int64(m.HeapAlloc)
}

// TestNewWithChangedSettingsLeavesNoGarbage: a configuration reload that
// changes the middleware's settings replaces its shared instance (cache,
// client, transport); the replaced one must become garbage. Traefik calls New
// for every router on every reload, interpreted by Yaegi, so anything kept
// per call grows with the number of reloads.
//
// Compiled, nothing is kept. Under Yaegi v0.16.1 (tools/yaegi-test.sh), the
// plugin once kept about 7 KB per call (15 KiB per changed-setting reload in
// a real Traefik, see stress/reload.go), and in production the whole cache of
// every replaced instance: its http.Client had CheckRedirect set to an
// interpreted function, and the wrapper Yaegi makes for such a value keeps
// the frames of the functions that created it, which referred to the
// previous instance. The resolver is now called through Transport.RoundTrip,
// with no interpreted function handed to the standard library.
func TestNewWithChangedSettingsLeavesNoGarbage(t *testing.T) {
	next := http.HandlerFunc(func(http.ResponseWriter, *http.Request) {})
	newWithTTL := func(i int) {
		cfg := CreateConfig()
		cfg.ResolverURL = "http://127.0.0.1:1/_resolver/resolve"
		cfg.CacheTTL = strconv.Itoa(60+i%2) + "s"
		if _, err := New(context.Background(), next, cfg, "garbage-"+t.Name()); err != nil {
			t.Fatal(err)
		}
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
