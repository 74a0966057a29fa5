package main

import (
	"bufio"
	"io"
	"maps"
	"net"
	"net/http"
	"slices"
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
	head, body := append([]string{method + " " + path + " HTTP/1.1", "Host: " + host}, lines...), ""
	if chunked {
		head = append(head, "Transfer-Encoding: chunked")
		body = strings.Join(slices.Concat([]string{"5", "hello", "0"}, trailers, []string{"", ""}), "\r\n")
	}
	return []byte(strings.Join(append(head, "Connection: close", "", ""), "\r\n") + body)
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

// get returns a GET request for url (ours) with the given headers.
func get(url string, h http.Header) *http.Request {
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	maps.Copy(req.Header, h)
	return req
}
