package authgear

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
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
	for i, want := range []int{200, 0} {
		if again := newAt(base.Add(time.Duration(i+1)*time.Minute), t.Name()+"/kept"); again.shared != kept.shared {
			t.Fatalf("reload %d with the same settings did not keep the instance", i+1)
		}
		if n := registered(t.Name() + "/old-"); n != want {
			t.Fatalf("after reload %d, %d of the 200 dropped names registered, want %d", i+1, n, want)
		}
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

func TestParsePeers(t *testing.T) {
	tests := []struct {
		in   []string
		want []peer
		err  bool
	}{
		{[]string{"traefik-peers.traefik.svc.cluster.local:8000"}, []peer{{"http", "traefik-peers.traefik.svc.cluster.local", "8000"}}, false},
		{[]string{"tasks.traefik:80, https://10.0.0.7:8443"}, []peer{{"http", "tasks.traefik", "80"}, {"https", "10.0.0.7", "8443"}}, false},
		{[]string{"http://[::1]:8000/"}, []peer{{"http", "::1", "8000"}}, false},
		{[]string{"no-port"}, nil, true},
		{[]string{"ftp://host:21"}, nil, true},
		{[]string{"host:http"}, nil, true},
		{[]string{"host:70000"}, nil, true},
		{[]string{"http://host:80/path"}, nil, true},
		{[]string{"user@host:80"}, nil, true},
	}
	for _, tt := range tests {
		got, err := parsePeers(tt.in)
		if (err != nil) != tt.err || fmt.Sprint(got) != fmt.Sprint(tt.want) {
			t.Errorf("parsePeers(%q) = %v, %v; want %v, error %v", tt.in, got, err, tt.want, tt.err)
		}
		if err != nil && !strings.Contains(err.Error(), "webhookPeers") {
			t.Errorf("parsePeers(%q): error %q does not name webhookPeers", tt.in, err)
		}
	}
}

// relayed is what a peer (the address it was reached at) received.
type relayed struct {
	peer, path, host, signature, marker, body string
}

// servePeer serves h at addr until the test ends and returns the address.
func servePeer(t *testing.T, h http.Handler, addr string) string {
	l, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatalf("cannot listen on %s: %v", addr, err)
	}
	srv := &http.Server{Handler: h}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	return l.Addr().String()
}

func TestDeliveriesAreRelayedToEveryAddressOfEveryPeer(t *testing.T) {
	var mu sync.Mutex
	var got []relayed
	record := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		peer := r.Context().Value(http.LocalAddrContextKey).(net.Addr).String()
		mu.Lock()
		got = append(got, relayed{peer, r.URL.Path, r.Host, r.Header.Get("X-Authgear-Body-Signature"), r.Header.Get(relayHeader), string(body)})
		mu.Unlock()
	})
	// Two peers on one port of 127.0.0.1 and 127.0.0.2: two pods, one Service.
	first := servePeer(t, record, "127.0.0.1:0")
	_, port, _ := net.SplitHostPort(first)
	second := servePeer(t, record, "127.0.0.2:"+port)
	lookupHost = func(_ context.Context, host string) ([]string, error) {
		if host == "traefik-peers.test" {
			return []string{"127.0.0.1", "127.0.0.2"}, nil
		}
		return nil, &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
	}
	t.Cleanup(func() { lookupHost = net.DefaultResolver.LookupHost })

	h := newMiddleware(t, t.Name(), func(c *Config) {
		c.WebhookPath = "/_authgear/webhook"
		c.WebhookSecret = "relay-secret"
		c.WebhookPeers = []string{"traefik-peers.test:" + port + ",gone.test:" + port}
	})
	post := func(signature, marker string, body string) *httptest.ResponseRecorder {
		req := httptest.NewRequest(http.MethodPost, "http://api.example.test/_authgear/webhook", strings.NewReader(body))
		req.Header.Set("X-Authgear-Body-Signature", signature)
		if marker != "" {
			req.Header.Set(relayHeader, marker)
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		return w
	}
	body := `{"type":"user.disabled","context":{"user_id":"u1"}}`
	mac := hmac.New(sha256.New, []byte("relay-secret"))
	mac.Write([]byte(body))
	signature := hex.EncodeToString(mac.Sum(nil))

	// A forged delivery relays nothing.
	if w := post(strings.Repeat("0", 64), "", body); w.Code != http.StatusUnauthorized {
		t.Fatalf("forged delivery: %d", w.Code)
	}
	// A relayed delivery is evicted from but not relayed again.
	if w := post(signature, "1", body); w.Code != http.StatusOK || strings.Contains(w.Body.String(), "relayed") {
		t.Fatalf("relayed delivery: %d %q", w.Code, w.Body.String())
	}
	mu.Lock()
	if len(got) != 0 {
		t.Fatalf("peers got %+v for forged or relayed deliveries", got)
	}
	mu.Unlock()
	// A verified delivery reaches both addresses of the DNS name.
	w := post(signature, "", body)
	if w.Code != http.StatusOK || !strings.Contains(w.Body.String(), "relayed to 2 of 2 peers") {
		t.Fatalf("delivery: %d %q", w.Code, w.Body.String())
	}
	mu.Lock()
	defer mu.Unlock()
	sort.Slice(got, func(i, j int) bool { return got[i].peer < got[j].peer })
	if want := fmt.Sprint([]relayed{
		{first, "/_authgear/webhook", "api.example.test", signature, "1", body},
		{second, "/_authgear/webhook", "api.example.test", signature, "1", body},
	}); fmt.Sprint(got) != want {
		t.Fatalf("peers got %+v, want %s", got, want)
	}
}
