package echo

import (
	"bufio"
	"crypto/rand"
	"crypto/sha1"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// websocketGUID is the fixed GUID of RFC 6455 section 1.3.
const websocketGUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

// DialTimeout bounds the TCP connect and the upgrade handshake of
// DialWebSocket.
const DialTimeout = 10 * time.Second

// acceptKey computes Sec-WebSocket-Accept for a Sec-WebSocket-Key.
func acceptKey(key string) string {
	h := sha1.Sum([]byte(key + websocketGUID))
	return base64.StdEncoding.EncodeToString(h[:])
}

// serveWebSocket upgrades the request and echoes every message back until the
// client closes. The 101 answer carries X-Echo-User-Id, the
// X-Authgear-User-Id this backend received (empty when none).
func serveWebSocket(w http.ResponseWriter, r *http.Request) {
	key, status, msg := checkUpgrade(r)
	if status != 0 {
		if status == http.StatusUpgradeRequired {
			w.Header().Set("Sec-WebSocket-Version", "13")
		}
		http.Error(w, msg, status)
		return
	}
	conn, brw, err := http.NewResponseController(w).Hijack()
	if err != nil {
		http.Error(w, "echo: /ws needs an HTTP/1.1 connection it can take over: "+err.Error(), http.StatusInternalServerError)
		return
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Time{}) // the server's read/write timeouts do not apply to a WebSocket

	userID := strings.Map(dropCRLF, r.Header.Get("X-Authgear-User-Id"))
	_, _ = brw.WriteString("HTTP/1.1 101 Switching Protocols\r\n" +
		"Upgrade: websocket\r\n" +
		"Connection: Upgrade\r\n" +
		"Sec-WebSocket-Accept: " + acceptKey(key) + "\r\n" +
		"X-Echo-User-Id: " + userID + "\r\n\r\n")
	if brw.Flush() != nil {
		return
	}
	c := &WSConn{conn: conn, br: brw.Reader}
	for {
		op, payload, err := c.readMessage()
		if err != nil {
			var pe *protocolError
			if errors.As(err, &pe) {
				lingerClose(c)
			}
			return
		}
		if c.writeFrame(op, payload) != nil {
			return
		}
	}
}

// lingerClose gives the client up to a second to read the close frame and
// hang up, discarding what it still sends, so that closing with unread input
// does not reset the connection before the close frame arrives.
func lingerClose(c *WSConn) {
	_ = c.conn.SetReadDeadline(time.Now().Add(time.Second))
	_, _ = io.Copy(io.Discard, c.br)
}

// checkUpgrade validates a WebSocket opening handshake (RFC 6455 section 4.2.1)
// and returns the client's key, or a status and a message saying what is
// missing.
func checkUpgrade(r *http.Request) (key string, status int, msg string) {
	switch {
	case r.Method != http.MethodGet:
		return "", http.StatusMethodNotAllowed, "echo: /ws wants GET for a WebSocket upgrade"
	case !hasToken(r.Header, "Connection", "upgrade") || !hasToken(r.Header, "Upgrade", "websocket"):
		return "", http.StatusBadRequest, "echo: /ws wants a WebSocket upgrade (Connection: Upgrade, Upgrade: websocket); did the proxy drop the hop-by-hop headers?"
	case r.Header.Get("Sec-WebSocket-Version") != "13":
		return "", http.StatusUpgradeRequired, "echo: /ws speaks Sec-WebSocket-Version 13 only"
	}
	key = r.Header.Get("Sec-WebSocket-Key")
	if b, err := base64.StdEncoding.DecodeString(key); err != nil || len(b) != 16 {
		return "", http.StatusBadRequest, "echo: /ws: Sec-WebSocket-Key must be 16 random bytes in base64"
	}
	return key, 0, ""
}

// hasToken reports whether a comma-separated header contains token,
// case-insensitively.
func hasToken(h http.Header, name, token string) bool {
	for _, v := range h.Values(name) {
		for _, t := range strings.Split(v, ",") {
			if strings.EqualFold(strings.TrimSpace(t), token) {
				return true
			}
		}
	}
	return false
}

func dropCRLF(r rune) rune {
	if r == '\r' || r == '\n' {
		return -1
	}
	return r
}

// HandshakeError is returned by DialWebSocket when the server does not
// switch protocols, for example a proxy answering 401 for a missing session.
type HandshakeError struct {
	StatusCode int
	Header     http.Header
	Body       string // first 4 KiB
}

// Error gives the refusing status and the start of its body.
func (e *HandshakeError) Error() string {
	return fmt.Sprintf("echo: websocket upgrade refused: status %d: %q", e.StatusCode, e.Body)
}

// DialWebSocket opens a WebSocket to ws://addr/path (addr is host:port, path
// may carry a query) with the extra request headers in header. A "Host" entry
// in header sets the Host line, so a test can reach a proxy by address and
// still pick its route by host. Refusals come back as *HandshakeError.
func DialWebSocket(addr, path string, header http.Header) (*WSConn, error) {
	if path == "" {
		path = "/"
	}
	u, err := url.ParseRequestURI(path)
	if err != nil {
		return nil, fmt.Errorf("echo: websocket path %q: %w", path, err)
	}
	var keyBytes [16]byte
	if _, err := rand.Read(keyBytes[:]); err != nil {
		return nil, fmt.Errorf("echo: websocket key: %w", err)
	}
	key := base64.StdEncoding.EncodeToString(keyBytes[:])

	req := &http.Request{
		Method:     http.MethodGet,
		URL:        u,
		Proto:      "HTTP/1.1",
		ProtoMajor: 1,
		ProtoMinor: 1,
		Header:     header.Clone(),
		Host:       addr,
	}
	if req.Header == nil {
		req.Header = http.Header{}
	}
	if h := req.Header.Get("Host"); h != "" {
		req.Host = h
		req.Header.Del("Host")
	}
	req.Header.Set("Connection", "Upgrade")
	req.Header.Set("Upgrade", "websocket")
	req.Header.Set("Sec-WebSocket-Version", "13")
	req.Header.Set("Sec-WebSocket-Key", key)

	conn, err := net.DialTimeout("tcp", addr, DialTimeout)
	if err != nil {
		return nil, fmt.Errorf("echo: websocket dial %s: %w", addr, err)
	}
	c, err := handshake(conn, req, key)
	if err != nil {
		conn.Close()
		return nil, err
	}
	return c, nil
}

func handshake(conn net.Conn, req *http.Request, key string) (*WSConn, error) {
	_ = conn.SetDeadline(time.Now().Add(DialTimeout))
	if err := req.Write(conn); err != nil {
		return nil, fmt.Errorf("echo: websocket send upgrade: %w", err)
	}
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, req)
	if err != nil {
		return nil, fmt.Errorf("echo: websocket read upgrade answer: %w", err)
	}
	if resp.StatusCode != http.StatusSwitchingProtocols {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 4<<10))
		resp.Body.Close()
		return nil, &HandshakeError{StatusCode: resp.StatusCode, Header: resp.Header, Body: string(body)}
	}
	if !hasToken(resp.Header, "Upgrade", "websocket") || !hasToken(resp.Header, "Connection", "upgrade") {
		return nil, fmt.Errorf("echo: websocket: 101 answer without Upgrade: websocket and Connection: Upgrade (%v)", resp.Header)
	}
	if got, want := resp.Header.Get("Sec-WebSocket-Accept"), acceptKey(key); got != want {
		return nil, fmt.Errorf("echo: websocket: Sec-WebSocket-Accept %q, want %q", got, want)
	}
	_ = conn.SetDeadline(time.Time{})
	return &WSConn{conn: conn, br: br, client: true, header: resp.Header}, nil
}
