package echo_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/traefik-authgear/traefik-authgear/harness/internal/echo"
)

func TestWebSocketEchoesAndReportsTheIdentity(t *testing.T) {
	srv := httptest.NewServer(echo.Handler())
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, resp, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(srv.URL, "http")+echo.PathWebSocket,
		&websocket.DialOptions{HTTPHeader: http.Header{"X-Authgear-User-Id": {"u1"}}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseNow()
	c.SetReadLimit(1 << 20)
	if got := resp.Header.Get("X-Echo-User-Id"); got != "u1" {
		t.Errorf("X-Echo-User-Id = %q, want u1", got)
	}
	for _, msg := range []string{"hello", "", strings.Repeat("é", 100), strings.Repeat("x", 70000)} {
		if err := c.Write(ctx, websocket.MessageText, []byte(msg)); err != nil {
			t.Fatal(err)
		}
		typ, got, err := c.Read(ctx)
		if err != nil || typ != websocket.MessageText || string(got) != msg {
			t.Fatalf("echo of %d bytes: %d bytes, %v", len(msg), len(got), err)
		}
	}
	if err := c.Close(websocket.StatusNormalClosure, "bye"); err != nil {
		t.Errorf("close handshake: %v", err)
	}
}
