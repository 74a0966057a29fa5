package echo

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

// The example handshake of RFC 6455 section 1.3.
func TestAcceptKey(t *testing.T) {
	if got := acceptKey("dGhlIHNhbXBsZSBub25jZQ=="); got != "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=" {
		t.Errorf("acceptKey = %q, want the RFC 6455 example s3pPLMBiTxaQ9kYGzzhZRbK+xOo=", got)
	}
}

func rawConn(t *testing.T) *WSConn {
	t.Helper()
	srv := httptest.NewServer(Handler())
	t.Cleanup(srv.Close)
	c, err := DialWebSocket(srv.Listener.Addr().String(), PathWebSocket, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.conn.Close() })
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	return c
}

func writeRaw(t *testing.T, c *WSConn, op byte, payload []byte, mask, fin bool) {
	t.Helper()
	b, err := appendFrame(nil, op, payload, mask)
	if err != nil {
		t.Fatal(err)
	}
	if !fin {
		b[0] &^= 0x80
	}
	if _, err := c.conn.Write(b); err != nil {
		t.Fatal(err)
	}
}

// The server must refuse unmasked client frames (RFC 6455 5.1), which also
// proves that the round-trip tests' client masks.
func TestServerRejectsUnmaskedFrames(t *testing.T) {
	c := rawConn(t)
	writeRaw(t, c, opText, []byte("hi"), false, true)
	_, err := c.ReadText()
	var ce *CloseError
	if !errors.As(err, &ce) || ce.Code != CloseProtocolError {
		t.Fatalf("unmasked frame: %v, want a close with code %d", err, CloseProtocolError)
	}
}

func TestServerAnswersPingAndJoinsFragments(t *testing.T) {
	c := rawConn(t)
	writeRaw(t, c, opPing, []byte("p"), true, true)
	writeRaw(t, c, opText, []byte("frag"), true, false)
	writeRaw(t, c, opPing, []byte("q"), true, true) // control frames may come between fragments
	writeRaw(t, c, opContinuation, []byte("mented"), true, true)
	got, err := c.ReadText() // the pongs are skipped
	if err != nil || got != "fragmented" {
		t.Fatalf("ReadText = %q, %v; want \"fragmented\"", got, err)
	}
}

func TestServerEchoesBinary(t *testing.T) {
	c := rawConn(t)
	writeRaw(t, c, opBinary, []byte{0, 1, 2}, true, true)
	if _, err := c.ReadText(); !errors.Is(err, errBinary) {
		t.Fatalf("ReadText of a binary echo: %v, want errBinary", err)
	}
}

func TestServerRejectsBadFrames(t *testing.T) {
	cases := []struct {
		name    string
		op      byte
		payload []byte
		fin     bool
		code    int
	}{
		{"continuation without message", opContinuation, []byte("x"), true, CloseProtocolError},
		{"fragmented ping", opPing, nil, false, CloseProtocolError},
		{"long ping", opPing, make([]byte, 126), true, CloseProtocolError},
		{"unknown opcode", 0x3, nil, true, CloseProtocolError},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := rawConn(t)
			writeRaw(t, c, tc.op, tc.payload, true, tc.fin)
			_, err := c.ReadText()
			var ce *CloseError
			if !errors.As(err, &ce) || ce.Code != tc.code {
				t.Fatalf("%s: %v, want a close with code %d", tc.name, err, tc.code)
			}
		})
	}
}

// A frame announcing more than MaxMessage is refused from its header alone.
func TestServerRejectsHugeFrame(t *testing.T) {
	c := rawConn(t)
	hdr := []byte{0x80 | opText, 0x80 | 127, 0, 0, 0, 0, 0, 0x10, 0, 1, 1, 2, 3, 4} // length MaxMessage+1, then a mask key
	if _, err := c.conn.Write(hdr); err != nil {
		t.Fatal(err)
	}
	_, err := c.ReadText()
	var ce *CloseError
	if !errors.As(err, &ce) || ce.Code != CloseTooBig {
		t.Fatalf("huge frame: %v, want a close with code %d", err, CloseTooBig)
	}
}

// The client must refuse masked frames from a server.
func TestClientRejectsMaskedFrames(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		key, status, _ := checkUpgrade(r)
		if status != 0 {
			t.Errorf("upgrade refused: %d", status)
			return
		}
		conn, brw, _ := http.NewResponseController(w).Hijack()
		defer conn.Close()
		_, _ = brw.WriteString("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: " + acceptKey(key) + "\r\n\r\n")
		b, _ := appendFrame(nil, opText, []byte("masked"), true)
		_, _ = brw.Write(b)
		_ = brw.Flush()
		_, _ = readFrame(brw.Reader) // wait for the client's close
	}))
	defer srv.Close()
	c, err := DialWebSocket(srv.Listener.Addr().String(), "/", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.conn.Close()
	var pe *protocolError
	if _, err := c.ReadText(); !errors.As(err, &pe) {
		t.Fatalf("masked server frame: %v, want a protocol error", err)
	}
}
