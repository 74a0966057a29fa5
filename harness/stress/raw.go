package main

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"strings"
	"time"
)

// statusTransportError stands for "no HTTP answer" in status counts.
const statusTransportError = -1

// answer is what a client got: the status, and what the backend reported
// when the request reached it.
type answer struct {
	status   int // statusTransportError when there was no HTTP answer
	backend  bool
	identity string
	err      string
}

// answerOf reads and closes resp.
func answerOf(resp *http.Response, err error) answer {
	if err != nil {
		return answer{status: statusTransportError, err: err.Error()}
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	resp.Body.Close()
	return answer{status: resp.StatusCode, backend: resp.Header.Get(hdrBackend) == "1", identity: resp.Header.Get(hdrIdentity)}
}

// rawMessage writes an HTTP/1.1 request byte for byte: header lines as
// given, "Connection: close", and, when chunked, a chunked body followed by
// the trailer lines.
func rawMessage(method, path, host string, lines []string, chunked bool, trailers []string) []byte {
	var b strings.Builder
	b.WriteString(method + " " + path + " HTTP/1.1\r\nHost: " + host + "\r\n")
	for _, l := range lines {
		b.WriteString(l + "\r\n")
	}
	if chunked {
		b.WriteString("Transfer-Encoding: chunked\r\n")
	}
	b.WriteString("Connection: close\r\n\r\n")
	if chunked {
		b.WriteString("5\r\nhello\r\n0\r\n")
		for _, t := range trailers {
			b.WriteString(t + "\r\n")
		}
		b.WriteString("\r\n")
	}
	return []byte(b.String())
}

// sendRaw sends msg on a new connection to addr and reads the answer.
func sendRaw(addr string, msg []byte) answer {
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return answer{status: statusTransportError, err: err.Error()}
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(20 * time.Second))
	// Write in the background: Traefik may answer (431, 400) and close
	// before reading a large request to the end.
	go func() { _, _ = conn.Write(msg) }()
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	return answerOf(resp, err)
}

// get returns a GET request for url with the given headers.
func get(url string, h http.Header) *http.Request {
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		panic(err) // the URLs are ours
	}
	for k, vs := range h {
		req.Header[k] = vs
	}
	return req
}
