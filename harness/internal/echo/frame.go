package echo

import (
	"bufio"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// WebSocket opcodes (RFC 6455 section 5.2).
const (
	opContinuation = 0x0
	opText         = 0x1
	opBinary       = 0x2
	opClose        = 0x8
	opPing         = 0x9
	opPong         = 0xA
)

// Close codes used here (RFC 6455 section 7.4.1).
const (
	CloseNormal        = 1000
	CloseProtocolError = 1002
	CloseTooBig        = 1009
)

// MaxMessage bounds a message's payload; this is a test helper, not a
// streaming server.
const MaxMessage = 1 << 20

// frame is one WebSocket frame, unmasked.
type frame struct {
	fin     bool
	op      byte
	masked  bool
	payload []byte
}

// protocolError is a peer's violation of RFC 6455; the connection is closed
// with code.
type protocolError struct {
	code int
	msg  string
}

func (e *protocolError) Error() string { return "echo: websocket: " + e.msg }

// readFrame reads and unmasks one frame.
func readFrame(br *bufio.Reader) (frame, error) {
	var hdr [2]byte
	if _, err := io.ReadFull(br, hdr[:]); err != nil {
		return frame{}, err
	}
	f := frame{fin: hdr[0]&0x80 != 0, op: hdr[0] & 0x0F, masked: hdr[1]&0x80 != 0}
	if hdr[0]&0x70 != 0 {
		return frame{}, &protocolError{CloseProtocolError, "reserved bits set without an extension"}
	}
	n := uint64(hdr[1] & 0x7F)
	switch n {
	case 126:
		var ext [2]byte
		if _, err := io.ReadFull(br, ext[:]); err != nil {
			return frame{}, err
		}
		n = uint64(binary.BigEndian.Uint16(ext[:]))
	case 127:
		var ext [8]byte
		if _, err := io.ReadFull(br, ext[:]); err != nil {
			return frame{}, err
		}
		n = binary.BigEndian.Uint64(ext[:])
	}
	var key [4]byte
	if f.masked {
		if _, err := io.ReadFull(br, key[:]); err != nil {
			return frame{}, err
		}
	}
	if n > MaxMessage {
		return frame{}, &protocolError{CloseTooBig, fmt.Sprintf("frame of %d bytes exceeds %d", n, MaxMessage)}
	}
	// The whole frame is read before it is judged, so a refusal leaves no
	// unread bytes that would turn the close into a connection reset.
	f.payload = make([]byte, n)
	if _, err := io.ReadFull(br, f.payload); err != nil {
		return frame{}, err
	}
	if f.masked {
		maskBytes(key, f.payload)
	}
	if f.op >= opClose && (n > 125 || !f.fin) {
		return frame{}, &protocolError{CloseProtocolError, "control frame fragmented or longer than 125 bytes"}
	}
	return f, nil
}

// appendFrame appends a final frame with payload to b, masked with a fresh
// random key when mask is true (clients must mask, servers must not).
func appendFrame(b []byte, op byte, payload []byte, mask bool) ([]byte, error) {
	b = append(b, 0x80|op)
	var maskBit byte
	if mask {
		maskBit = 0x80
	}
	switch n := len(payload); {
	case n <= 125:
		b = append(b, maskBit|byte(n))
	case n <= 0xFFFF:
		b = append(b, maskBit|126)
		b = binary.BigEndian.AppendUint16(b, uint16(n))
	default:
		b = append(b, maskBit|127)
		b = binary.BigEndian.AppendUint64(b, uint64(n))
	}
	if !mask {
		return append(b, payload...), nil
	}
	var key [4]byte
	if _, err := rand.Read(key[:]); err != nil {
		return nil, fmt.Errorf("echo: websocket mask key: %w", err)
	}
	b = append(b, key[:]...)
	start := len(b)
	b = append(b, payload...)
	maskBytes(key, b[start:])
	return b, nil
}

// maskBytes applies (or removes) the RFC 6455 section 5.3 mask in place.
func maskBytes(key [4]byte, p []byte) {
	for i := range p {
		p[i] ^= key[i&3]
	}
}

// closePayload builds a close frame body: a 2-byte code and a reason.
func closePayload(code int, reason string) []byte {
	if len(reason) > 123 {
		reason = reason[:123]
	}
	return append(binary.BigEndian.AppendUint16(nil, uint16(code)), reason...)
}

// CloseError is returned by ReadText when the peer closed the WebSocket.
type CloseError struct {
	Code   int // 1005 when the peer sent no code
	Reason string
}

// Error says that the peer closed, with its code and reason.
func (e *CloseError) Error() string {
	return fmt.Sprintf("echo: websocket closed by peer: code %d %q", e.Code, e.Reason)
}

func parseClose(payload []byte) *CloseError {
	if len(payload) < 2 {
		return &CloseError{Code: 1005}
	}
	return &CloseError{Code: int(binary.BigEndian.Uint16(payload)), Reason: string(payload[2:])}
}

// errBinary is returned by ReadText for a binary message.
var errBinary = errors.New("echo: websocket: got a binary message, ReadText wants text")
