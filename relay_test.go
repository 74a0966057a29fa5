package authgear

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
)

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
		if (err != nil) != tt.err {
			t.Errorf("parsePeers(%q): error %v, want error %v", tt.in, err, tt.err)
			continue
		}
		if err != nil && !strings.Contains(err.Error(), "webhookPeers") {
			t.Errorf("parsePeers(%q): error %q does not name webhookPeers", tt.in, err)
		}
		if err == nil && len(got) != len(tt.want) {
			t.Errorf("parsePeers(%q) = %v, want %v", tt.in, got, tt.want)
			continue
		}
		for i := range got {
			if got[i] != tt.want[i] {
				t.Errorf("parsePeers(%q)[%d] = %v, want %v", tt.in, i, got[i], tt.want[i])
			}
		}
	}
}

// relayed is what one peer received.
type relayed struct {
	path, host, signature, marker, body string
}

// peerRecorder is a peer that records the relays it gets.
type peerRecorder struct {
	mu  sync.Mutex
	got []relayed
}

func (p *peerRecorder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	p.mu.Lock()
	p.got = append(p.got, relayed{r.URL.Path, r.Host, r.Header.Get("X-Authgear-Body-Signature"), r.Header.Get(relayHeader), string(body)})
	p.mu.Unlock()
}

func (p *peerRecorder) relays() []relayed {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]relayed(nil), p.got...)
}

// twoPeersOnOnePort starts two recording peers on 127.0.0.1 and 127.0.0.2
// with the same port, as two pods behind one headless Service.
func twoPeersOnOnePort(t *testing.T) (string, []*peerRecorder) {
	t.Helper()
	first, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	_, port, _ := net.SplitHostPort(first.Addr().String())
	second, err := net.Listen("tcp", "127.0.0.2:"+port)
	if err != nil {
		first.Close()
		t.Fatalf("cannot listen on 127.0.0.2:%s: %v", port, err)
	}
	return port, []*peerRecorder{servePeer(t, first), servePeer(t, second)}
}

// servePeer serves a recording peer on l until the test ends. (A function
// of its own, not a loop body: Yaegi's closures in loops see the last value.)
func servePeer(t *testing.T, l net.Listener) *peerRecorder {
	p := &peerRecorder{}
	srv := &http.Server{Handler: http.HandlerFunc(p.ServeHTTP)}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	return p
}

func TestDeliveriesAreRelayedToEveryAddressOfEveryPeer(t *testing.T) {
	port, peers := twoPeersOnOnePort(t)
	lookupHost = func(_ context.Context, host string) ([]string, error) {
		if host == "traefik-peers.test" {
			return []string{"127.0.0.1", "127.0.0.2"}, nil
		}
		return nil, &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
	}
	t.Cleanup(func() { lookupHost = net.DefaultResolver.LookupHost })

	cfg := CreateConfig()
	cfg.ResolverURL = "http://127.0.0.1:1/_resolver/resolve"
	cfg.WebhookPath = "/_authgear/webhook"
	cfg.WebhookSecret = "relay-secret"
	cfg.WebhookPeers = []string{"traefik-peers.test:" + port + ",gone.test:" + port}
	h, err := New(context.Background(), http.NotFoundHandler(), cfg, t.Name())
	if err != nil {
		t.Fatal(err)
	}
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
	for i, p := range peers {
		if n := len(p.relays()); n != 0 {
			t.Fatalf("peer %d got %d relays of forged or relayed deliveries", i, n)
		}
	}
	// A verified delivery reaches both addresses of the DNS name.
	w := post(signature, "", body)
	if w.Code != http.StatusOK || !strings.Contains(w.Body.String(), "relayed to 2 of 2 peers") {
		t.Fatalf("delivery: %d %q", w.Code, w.Body.String())
	}
	for i, p := range peers {
		got := p.relays()
		want := relayed{"/_authgear/webhook", "api.example.test", signature, "1", body}
		if len(got) != 1 || got[0] != want {
			t.Fatalf("peer %d (127.0.0.%s:%s) got %+v, want %+v", i, strconv.Itoa(i+1), port, got, want)
		}
	}
}
