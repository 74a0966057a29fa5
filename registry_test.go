package authgear

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// newMiddleware builds the middleware called name, edited by edit, with an
// unreachable resolver and a next handler that does nothing. Each name has
// an Authgear app (and so a cache) of its own: its resolver URL's path.
func newMiddleware(tb testing.TB, name string, edit func(*Config)) *Middleware {
	tb.Helper()
	cfg := CreateConfig()
	cfg.ResolverURL = "http://127.0.0.1:1/" + url.PathEscape(name) + "/_resolver/resolve"
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
	m.shared.app.roundTrip = panickingTransport{}
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

// A webhookPeers entry copied from a URL with a password, or a token in its
// query or fragment, is refused with an error that names the entry without
// the secret, yet still says which one it is.
func TestParsePeersErrorsDoNotQuoteSecrets(t *testing.T) {
	for _, entry := range []string{
		"https://user:s3cret@peer.test:8443",
		"https://user:s3cret@peer.test",
		"user:s3cret@peer.test:80",
		"http://user:s3c@ret@peer.test:80",
		"http://user:s3cret/x@peer.test:80",
		"HTTPS://user:s3cret@peer.test:8443",
		"user:s3cret://x@peer.test:80",
		"https://peer.test:8443/?token=s3cret",
		"https://peer.test:8443?token=s3cret",
		"https://peer.test:8443#s3cret",
	} {
		_, err := parsePeers([]string{"tasks.traefik:80", entry})
		switch {
		case err == nil:
			t.Errorf("parsePeers(%q): no error", entry)
		case strings.Contains(err.Error(), "s3c"):
			t.Errorf("parsePeers(%q): error %q quotes the secret", entry, err)
		case !strings.Contains(err.Error(), "webhookPeers entry 2") || !strings.Contains(err.Error(), "peer.test"):
			t.Errorf("parsePeers(%q): error %q does not say which entry", entry, err)
		}
	}
}

// signedEvent returns a user.disabled delivery of the event id for the
// user, stamped at, and its signature under secret.
func signedEvent(secret, id, userID string, at time.Time) (string, string) {
	body := fmt.Sprintf(`{"id":%q,"type":"user.disabled","context":{"user_id":%q,"timestamp":%d}}`, id, userID, at.Unix())
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(body))
	return body, hex.EncodeToString(mac.Sum(nil))
}

// eventID returns an id for the test's event named what, that no earlier
// run in this process used.
func eventID(t *testing.T, what string) string {
	return t.Name() + "/" + what + "/" + strconv.FormatInt(time.Now().UnixNano(), 10)
}

// cacheUser puts an answer for the user in the middleware's cache.
func cacheUser(m *Middleware, userID string) {
	m.cache.mu.Lock()
	defer m.cache.mu.Unlock()
	m.cache.insert("key-of-"+userID, &answer{userID: userID}, time.Now().UnixNano(), 0)
}

// postDelivery posts a delivery to the middleware's webhook path at the
// target URL, with the relay marker when it is not empty.
func postDelivery(m *Middleware, target, signature, marker, body string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(http.MethodPost, target, strings.NewReader(body))
	req.Header.Set("X-Authgear-Body-Signature", signature)
	if marker != "" {
		req.Header.Set(relayHeader, marker)
	}
	w := httptest.NewRecorder()
	m.ServeHTTP(w, req)
	return w
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

// resolveForTest makes lookupHost resolve the names to the addresses, and
// no other, until the test ends.
func resolveForTest(t *testing.T, names map[string][]string) {
	lookupHost = func(_ context.Context, host string) ([]string, error) {
		if addrs, ok := names[host]; ok {
			return addrs, nil
		}
		return nil, &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
	}
	t.Cleanup(func() { lookupHost = net.DefaultResolver.LookupHost })
}

// A verified delivery is relayed to every address of every peer, with the
// peer's name as Host; a forged one is not, and neither is a relayed one,
// which is checked as any delivery is: a replay of it changes nothing, a
// late one is evicted without counts.
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
	resolveForTest(t, map[string][]string{"traefik-peers.test": {"127.0.0.1", "127.0.0.2"}})

	h := newMiddleware(t, t.Name(), func(c *Config) {
		c.WebhookPath = "/_authgear/webhook"
		c.WebhookSecret = "relay-secret"
		c.WebhookPeers = []string{"traefik-peers.test:" + port + ",gone.test:" + port}
	})
	post := func(signature, marker string, body string) *httptest.ResponseRecorder {
		return postDelivery(h, "http://api.example.test/_authgear/webhook", signature, marker, body)
	}
	relayedBody, relayedSignature := signedEvent("relay-secret", eventID(t, "relayed"), "u1", time.Now())
	lateBody, lateSignature := signedEvent("relay-secret", eventID(t, "late"), "u1", time.Now().Add(-time.Hour))
	body, signature := signedEvent("relay-secret", eventID(t, "delivered"), "u1", time.Now())

	for _, step := range []struct {
		what, body, signature, marker string
		status                        int
		answer                        string // what the answer starts with
		evicts                        bool
	}{
		{"forged delivery", body, strings.Repeat("0", 64), "", http.StatusUnauthorized, "invalid webhook signature", false},
		{"relayed delivery", relayedBody, relayedSignature, "1", http.StatusOK, "ok: 1 cached answers evicted\n", true},
		{"the relayed delivery again", relayedBody, relayedSignature, "1", http.StatusOK, "ok: duplicate delivery", false},
		{"a late relayed delivery", lateBody, lateSignature, "1", http.StatusOK, "ok: evicted locally; not relayed", true},
	} {
		cacheUser(h, "u1")
		w := post(step.signature, step.marker, step.body)
		if w.Code != step.status || !strings.HasPrefix(w.Body.String(), step.answer) {
			t.Fatalf("%s: %d %q, want %d %q", step.what, w.Code, w.Body.String(), step.status, step.answer)
		}
		if evicted := h.cache.len() == 0; evicted != step.evicts {
			t.Fatalf("%s: evicted %v, want %v", step.what, evicted, step.evicts)
		}
	}
	mu.Lock()
	if len(got) != 0 {
		t.Fatalf("peers got %+v for forged or relayed deliveries", got)
	}
	mu.Unlock()
	// A verified delivery reaches both addresses of the DNS name, as the
	// peer's name: not the Host the delivery came with.
	w := post(signature, "", body)
	if w.Code != http.StatusOK || !strings.Contains(w.Body.String(), "relayed to 2 of 2 peers") {
		t.Fatalf("delivery: %d %q", w.Code, w.Body.String())
	}
	mu.Lock()
	defer mu.Unlock()
	sort.Slice(got, func(i, j int) bool { return got[i].peer < got[j].peer })
	peerHost := "traefik-peers.test:" + port
	if want := fmt.Sprint([]relayed{
		{first, "/_authgear/webhook", peerHost, signature, "1", body},
		{second, "/_authgear/webhook", peerHost, signature, "1", body},
	}); fmt.Sprint(got) != want {
		t.Fatalf("peers got %+v, want %s", got, want)
	}
}

// certificateFor returns a self-signed certificate for the host name and a
// pool that trusts it.
func certificateFor(t *testing.T, name string) (tls.Certificate, *x509.CertPool) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	template := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: name},
		DNSNames:              []string{name},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IsCA:                  true,
		BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, template, template, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(leaf)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, pool
}

// A relay to an https:// peer checks the peer's certificate against the
// peer's name and sends that name as Host, whatever Host the delivery came
// with: the sender chooses that one.
func TestARelayOverTLSNamesThePeer(t *testing.T) {
	cert, roots := certificateFor(t, "peer.test")
	var mu sync.Mutex
	var hosts, serverNames []string
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		hosts = append(hosts, r.Host)
		serverNames = append(serverNames, r.TLS.ServerName)
		mu.Unlock()
	}))
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{cert}}
	srv.StartTLS()
	t.Cleanup(srv.Close)
	_, port, _ := net.SplitHostPort(srv.Listener.Addr().String())
	resolveForTest(t, map[string][]string{"peer.test": {"127.0.0.1"}, "evil.example": {"127.0.0.1"}})
	relayTLSRoots = roots
	t.Cleanup(func() { relayTLSRoots = nil })

	h := newMiddleware(t, t.Name(), func(c *Config) {
		c.WebhookPath = "/_authgear/webhook"
		c.WebhookSecret = "relay-secret"
		c.WebhookPeers = []string{"https://peer.test:" + port}
	})
	body, signature := signedEvent("relay-secret", eventID(t, "delivered"), "u1", time.Now())
	w := postDelivery(h, "http://evil.example/_authgear/webhook", signature, "", body)
	if w.Code != http.StatusOK || !strings.Contains(w.Body.String(), "relayed to 1 of 1 peers") {
		t.Fatalf("delivery with Host evil.example: %d %q, want it relayed to the peer", w.Code, w.Body.String())
	}
	mu.Lock()
	defer mu.Unlock()
	if want := "peer.test:" + port; fmt.Sprint(hosts, serverNames) != fmt.Sprint([]string{want}, []string{"peer.test"}) {
		t.Fatalf("the peer saw Host %q and TLS server name %q, want %q and peer.test", hosts, serverNames, want)
	}
}

// The memory of event ids forgets an id replayWindow and clockSkew after it
// was admitted, and not before; full of unexpired ids, it admits no new one
// but still recognises the ones it holds.
func TestEventMemoryForgetsByAgeAndHoldsAtMostItsLimit(t *testing.T) {
	const limit = 3
	em := newEventMemory(limit)
	start := time.Now().UnixNano()
	kept := int64(replayWindow + clockSkew)
	for _, step := range []struct {
		id    string
		after int64 // since start
		want  admission
	}{
		{"a", 0, admitted},
		{"b", 1, admitted},
		{"a", 2, duplicateEvent},
		{"c", 2, admitted},
		{"d", 3, unrememberedEvent}, // full
		{"a", kept, duplicateEvent}, // a expires past this
		{"d", kept + 1, admitted},   // a forgotten: room for d
		{"b", kept + 1, duplicateEvent},
		{"a", kept + 2, admitted}, // b forgotten: a is new again
		{"e", kept + 3, admitted}, // c forgotten
		{"f", kept + 3, unrememberedEvent},
		{"g", 3*kept + 3, admitted}, // all forgotten
	} {
		if got := em.admit(step.id, start+step.after); got != step.want {
			t.Fatalf("admit(%s) %d ns after the start = %d, want %d", step.id, step.after, got, step.want)
		}
		if len(em.expires) > limit || len(em.order)-em.head != len(em.expires) || len(em.order) > 2*limit {
			t.Fatalf("after %s: %d ids remembered, %d in order from %d; limit %d", step.id, len(em.expires), len(em.order), em.head, limit)
		}
	}
}

// A fresh, new delivery that the app's memory of ids, full of unexpired
// ones, cannot hold is handled as a late one: evicted here, not relayed,
// answered without counts.
func TestADeliveryAFullMemoryCannotHoldIsEvictedHereOnly(t *testing.T) {
	var mu sync.Mutex
	relays := 0
	peer := servePeer(t, http.HandlerFunc(func(http.ResponseWriter, *http.Request) {
		mu.Lock()
		relays++
		mu.Unlock()
	}), "127.0.0.1:0")
	h := newMiddleware(t, t.Name(), func(c *Config) {
		c.ResolverHost = "full-memory.test" // an app of its own
		c.WebhookPath = "/_authgear/webhook"
		c.WebhookSecret = "relay-secret"
		c.WebhookPeers = []string{peer}
		c.MetricsPath = "/_authgear/metrics"
	})
	now := time.Now()
	full := newEventMemory(maxRememberedEvents)
	for i := 0; i < maxRememberedEvents; i++ {
		full.admit("earlier-"+strconv.Itoa(i), now.UnixNano())
	}
	eventMemoriesMu.Lock()
	eventMemories[h.shared.app.host] = full
	eventMemoriesMu.Unlock()
	t.Cleanup(func() {
		eventMemoriesMu.Lock()
		delete(eventMemories, h.shared.app.host)
		eventMemoriesMu.Unlock()
	})

	cacheUser(h, "u1")
	body, signature := signedEvent("relay-secret", eventID(t, "new"), "u1", now)
	w := postDelivery(h, "http://api.example.test/_authgear/webhook", signature, "", body)
	if w.Code != http.StatusOK || strings.ContainsAny(w.Body.String(), "0123456789") {
		t.Fatalf("delivery: %d %q, want 200 without counts", w.Code, w.Body.String())
	}
	if n := h.cache.len(); n != 0 {
		t.Fatalf("%d cached answers left, want the user's evicted", n)
	}
	mu.Lock()
	defer mu.Unlock()
	if relays != 0 {
		t.Fatalf("the peer received %d relays, want none", relays)
	}
	metrics := exposition([]*instance{h.shared})
	if want := `authgear_webhook_deliveries_total{middleware="` + t.Name() + `",result="memory_full"} 1` + "\n"; !strings.Contains(metrics, want) {
		t.Fatalf("metrics lack %q", want)
	}
}
