package echo

import (
	"context"
	"net/http"
	"strings"

	"github.com/coder/websocket"
)

// serveWebSocket upgrades the request (github.com/coder/websocket) and echoes
// every message back until the client closes. The 101 answer carries
// X-Echo-User-Id, the X-Authgear-User-Id this backend received (empty when
// none), so that a client sees what identity the upgrade reached it with.
func serveWebSocket(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("X-Echo-User-Id", strings.Map(dropCRLF, r.Header.Get("X-Authgear-User-Id")))
	c, err := websocket.Accept(w, r, &websocket.AcceptOptions{InsecureSkipVerify: true})
	if err != nil {
		return // Accept has answered the client
	}
	defer c.CloseNow()
	c.SetReadLimit(1 << 20)
	ctx := context.Background()
	for {
		typ, data, err := c.Read(ctx)
		if err != nil {
			return
		}
		if c.Write(ctx, typ, data) != nil {
			return
		}
	}
}

// dropCRLF drops CR and LF, so that a header value cannot start another.
func dropCRLF(r rune) rune {
	if r == '\r' || r == '\n' {
		return -1
	}
	return r
}
