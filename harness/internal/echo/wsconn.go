package echo

import (
	"bufio"
	"errors"
	"net"
	"net/http"
	"sync"
	"time"
)

// WSConn is one end of a WebSocket connection: the client end returned by
// DialWebSocket, or the server end inside the echo handler. Reads must come
// from one goroutine; writes may come from several.
type WSConn struct {
	conn   net.Conn
	br     *bufio.Reader
	client bool        // a client masks what it sends; a server requires masked input
	header http.Header // the upgrade answer's headers (client end only)

	wmu       sync.Mutex // protects writes and closeSent
	closeSent bool
}

// Header returns the headers of the server's 101 answer (for example
// X-Echo-User-Id). It is nil on the server end.
func (c *WSConn) Header() http.Header { return c.header }

// SetDeadline sets the read and write deadline of the underlying connection.
func (c *WSConn) SetDeadline(t time.Time) error { return c.conn.SetDeadline(t) }

// WriteText sends s as one text message.
func (c *WSConn) WriteText(s string) error {
	return c.writeFrame(opText, []byte(s))
}

// ReadText returns the next text message, answering pings on the way. It
// returns a *CloseError when the peer closed the connection.
func (c *WSConn) ReadText() (string, error) {
	op, payload, err := c.readMessage()
	if err != nil {
		return "", err
	}
	if op != opText {
		return "", errBinary
	}
	return string(payload), nil
}

// Close sends a normal close frame (once) and closes the connection.
func (c *WSConn) Close() error {
	_ = c.sendClose(CloseNormal, "")
	return c.conn.Close()
}

func (c *WSConn) writeFrame(op byte, payload []byte) error {
	b, err := appendFrame(make([]byte, 0, len(payload)+14), op, payload, c.client)
	if err != nil {
		return err
	}
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if c.closeSent {
		return errors.New("echo: websocket: write after close")
	}
	if op == opClose {
		c.closeSent = true
	}
	_, err = c.conn.Write(b)
	return err
}

func (c *WSConn) sendClose(code int, reason string) error {
	return c.writeFrame(opClose, closePayload(code, reason))
}

// readMessage returns the next data message (text or binary), joining
// fragments. Pings get a pong, pongs are ignored, a close frame is answered
// and returned as *CloseError. A protocol violation closes the connection
// with the matching code and is returned.
func (c *WSConn) readMessage() (byte, []byte, error) {
	var (
		op  byte
		msg []byte
		mid bool // inside a fragmented message
	)
	for {
		f, err := readFrame(c.br)
		if err == nil && f.masked == c.client {
			err = &protocolError{CloseProtocolError, maskRule(c.client)}
		}
		if err != nil {
			var pe *protocolError
			if errors.As(err, &pe) {
				_ = c.sendClose(pe.code, pe.msg)
			}
			return 0, nil, err
		}
		switch f.op {
		case opPing:
			if err := c.writeFrame(opPong, f.payload); err != nil {
				return 0, nil, err
			}
			continue
		case opPong:
			continue
		case opClose:
			ce := parseClose(f.payload)
			code := ce.Code
			if code == 1005 {
				code = CloseNormal
			}
			_ = c.sendClose(code, "")
			return 0, nil, ce
		case opText, opBinary:
			if mid {
				return 0, nil, c.fail("new message inside a fragmented one")
			}
			op, msg = f.op, f.payload
		case opContinuation:
			if !mid {
				return 0, nil, c.fail("continuation frame without a message")
			}
			if len(msg)+len(f.payload) > MaxMessage {
				return 0, nil, c.failCode(CloseTooBig, "message too big")
			}
			msg = append(msg, f.payload...)
		default:
			return 0, nil, c.fail("unknown opcode")
		}
		if f.fin {
			return op, msg, nil
		}
		mid = true
	}
}

func (c *WSConn) fail(msg string) error { return c.failCode(CloseProtocolError, msg) }

func (c *WSConn) failCode(code int, msg string) error {
	err := &protocolError{code, msg}
	_ = c.sendClose(code, msg)
	return err
}

func maskRule(client bool) string {
	if client {
		return "server sent a masked frame (RFC 6455 5.1: servers must not mask)"
	}
	return "client sent an unmasked frame (RFC 6455 5.1: clients must mask)"
}
