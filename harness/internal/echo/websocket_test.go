package echo_test

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/traefik-authgear/traefik-authgear/harness/internal/echo"
)

func addrOf(srv *httptest.Server) string { return srv.Listener.Addr().String() }

func dial(t *testing.T, addr string, header http.Header) *echo.WSConn {
	t.Helper()
	c, err := echo.DialWebSocket(addr, echo.PathWebSocket, header)
	if err != nil {
		t.Fatalf("DialWebSocket: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	return c
}

// roundTrip sends each message and requires it back unchanged. Sizes cover the
// three payload length encodings (7-bit, 16-bit, 64-bit).
func roundTrip(t *testing.T, c *echo.WSConn) {
	t.Helper()
	for _, msg := range []string{"hello", "", strings.Repeat("é", 100), strings.Repeat("x", 70000)} {
		if err := c.WriteText(msg); err != nil {
			t.Fatalf("WriteText(%d bytes): %v", len(msg), err)
		}
		got, err := c.ReadText()
		if err != nil {
			t.Fatalf("ReadText after %d bytes: %v", len(msg), err)
		}
		if got != msg {
			t.Fatalf("echoed %d bytes, want the %d sent", len(got), len(msg))
		}
	}
}

func TestWebSocketRoundTrip(t *testing.T) {
	srv := httptest.NewServer(echo.Handler())
	defer srv.Close()
	c := dial(t, addrOf(srv), http.Header{"X-Authgear-User-Id": {"u1"}})
	if got := c.Header().Get("X-Echo-User-Id"); got != "u1" {
		t.Errorf("X-Echo-User-Id = %q, want u1", got)
	}
	roundTrip(t, c)
}

func TestWebSocketCloseHandshake(t *testing.T) {
	srv := httptest.NewServer(echo.Handler())
	defer srv.Close()
	c := dial(t, addrOf(srv), nil)
	if got := c.Header().Get("X-Echo-User-Id"); got != "" {
		t.Errorf("X-Echo-User-Id = %q without identity, want empty", got)
	}
	if err := c.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	if err := c.WriteText("late"); err == nil {
		t.Error("WriteText after Close succeeded")
	}
}

// TestWebSocketThroughProxy goes through a reverse proxy that sets the identity
// header, as the plugin does behind Traefik, and picks its route by Host.
func TestWebSocketThroughProxy(t *testing.T) {
	backend := httptest.NewServer(echo.Handler())
	defer backend.Close()
	target, _ := url.Parse(backend.URL)
	rp := httputil.NewSingleHostReverseProxy(target)
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Host != "api.example.test" {
			http.Error(w, "unknown host", http.StatusNotFound)
			return
		}
		if r.Header.Get("Cookie") != "session=alice-session" {
			http.Error(w, "no session", http.StatusUnauthorized)
			return
		}
		r.Header.Set("X-Authgear-User-Id", "alice")
		rp.ServeHTTP(w, r)
	}))
	defer proxy.Close()

	c := dial(t, addrOf(proxy), http.Header{"Host": {"api.example.test"}, "Cookie": {"session=alice-session"}})
	if got := c.Header().Get("X-Echo-User-Id"); got != "alice" {
		t.Errorf("X-Echo-User-Id through the proxy = %q, want alice", got)
	}
	roundTrip(t, c)

	_, err := echo.DialWebSocket(addrOf(proxy), echo.PathWebSocket, http.Header{"Host": {"api.example.test"}})
	var he *echo.HandshakeError
	if !errors.As(err, &he) || he.StatusCode != http.StatusUnauthorized || !strings.Contains(he.Body, "no session") {
		t.Errorf("refused upgrade: error %v, want a *HandshakeError with 401", err)
	}
}

func TestWebSocketBadUpgrade(t *testing.T) {
	srv := httptest.NewServer(echo.Handler())
	defer srv.Close()
	cases := []struct {
		name   string
		method string
		header map[string]string
		status int
	}{
		{"plain GET", http.MethodGet, nil, http.StatusBadRequest},
		{"POST", http.MethodPost, nil, http.StatusMethodNotAllowed},
		{"old version", http.MethodGet, map[string]string{"Connection": "keep-alive, Upgrade", "Upgrade": "websocket", "Sec-WebSocket-Version": "8", "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ=="}, http.StatusUpgradeRequired},
		{"bad key", http.MethodGet, map[string]string{"Connection": "Upgrade", "Upgrade": "websocket", "Sec-WebSocket-Version": "13", "Sec-WebSocket-Key": "short"}, http.StatusBadRequest},
	}
	for _, tc := range cases {
		req, _ := http.NewRequest(tc.method, srv.URL+echo.PathWebSocket, nil)
		for k, v := range tc.header {
			req.Header.Set(k, v)
		}
		resp, err := srv.Client().Do(req)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		resp.Body.Close()
		if resp.StatusCode != tc.status {
			t.Errorf("%s: status %d, want %d", tc.name, resp.StatusCode, tc.status)
		}
	}
}

func TestDialWebSocketErrors(t *testing.T) {
	if _, err := echo.DialWebSocket("127.0.0.1:1", "/ws", nil); err == nil || !strings.Contains(err.Error(), "dial") {
		t.Errorf("dial to a closed port: %v, want a dial error", err)
	}
	if _, err := echo.DialWebSocket("127.0.0.1:1", "no-slash", nil); err == nil || !strings.Contains(err.Error(), "path") {
		t.Errorf("relative path: %v, want a path error", err)
	}
	// A plain HTTP server that does not upgrade.
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer srv.Close()
	_, err := echo.DialWebSocket(addrOf(srv), "/ws", nil)
	var he *echo.HandshakeError
	if !errors.As(err, &he) || he.StatusCode != 200 {
		t.Errorf("non-upgrading server: %v, want *HandshakeError 200", err)
	}
}
