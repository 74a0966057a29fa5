package authgear

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
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

func TestAllowsStale(t *testing.T) {
	failed := errors.New("resolver answered")
	tests := []struct {
		status int
		err    error
		want   bool
	}{
		{500, failed, true},
		{503, failed, true},
		{431, failed, false},
		{404, failed, false},
		{301, failed, false},
		{0, context.DeadlineExceeded, true},
		{0, errors.New("dial tcp: connection refused"), true},
		{0, context.Canceled, false},
	}
	for _, tt := range tests {
		if got := allowsStale(tt.status, tt.err); got != tt.want {
			t.Errorf("allowsStale(%d, %v) = %v, want %v", tt.status, tt.err, got, tt.want)
		}
	}
}
