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
	"sort"
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
