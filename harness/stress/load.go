package main

import (
	"bufio"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// job is one request of a load run and what its answer must show: the
// identity summary the backend must report, and the status (0: any).
type job struct {
	req    *http.Request
	want   string
	status int
}

// loadSpec describes a load run: jobs from, from+1, ... until max (0: no
// limit), for duration, or until stop is set, whichever comes first; at a
// fixed rate (requests per second; 0: as fast as the workers go), job i is
// due (i-from)/rate seconds after the start.
type loadSpec struct {
	client        *http.Client
	workers, rate int
	from, max     int64
	duration      time.Duration
	next          func(i int64) job
	stop          *atomic.Bool
}

// loadResult is what load runs saw.
type loadResult struct {
	mu             sync.Mutex
	requests, late int64 // late: sent over 10 ms after their time
	statuses       map[int]int64
	// identity: a wrong identity at the backend; status: not the job's.
	identity, status tally
	slowest, elapsed time.Duration
}

func (r *loadResult) rate() float64   { return float64(r.requests) / max(r.elapsed.Seconds(), 1e-9) }
func (r *loadResult) failures() int64 { return r.identity.n + r.status.n }

// runLoad runs a bounded load and returns what it saw.
func runLoad(spec loadSpec) *loadResult { return (&loadResult{statuses: map[int]int64{}}).run(spec) }

// run adds a run of spec to r.
func (r *loadResult) run(spec loadSpec) *loadResult {
	start := time.Now()
	end := start.Add(spec.duration)
	var counter atomic.Int64
	counter.Store(spec.from)
	var wg sync.WaitGroup
	for range spec.workers {
		wg.Go(func() {
			for {
				i := counter.Add(1) - 1
				due := start
				if spec.rate > 0 {
					due = start.Add(time.Duration(i-spec.from) * time.Second / time.Duration(spec.rate))
				}
				if spec.max > 0 && i >= spec.max || !due.Before(end) {
					return
				}
				if time.Sleep(time.Until(due)); time.Now().After(end) || spec.stop != nil && spec.stop.Load() {
					return
				}
				r.do(spec.client, spec.next(i), spec.rate > 0 && time.Since(due) > 10*time.Millisecond)
			}
		})
	}
	wg.Wait()
	r.elapsed += time.Since(start)
	return r
}

// do sends one request and checks its answer.
func (r *loadResult) do(c *http.Client, j job, late bool) {
	start := time.Now()
	a := answerOf(c.Do(j.req))
	r.mu.Lock()
	defer r.mu.Unlock()
	r.requests++
	r.statuses[a.status]++
	r.slowest = max(r.slowest, time.Since(start))
	if late {
		r.late++
	}
	if j.status != 0 && a.status != j.status {
		r.status.add(fmt.Sprintf("%s %s: %d %s, want %d", j.req.Method, j.req.URL.Path, a.status, a.err, j.status))
	}
	if a.backend && a.identity != j.want {
		r.identity.add(fmt.Sprintf("%s %s: backend saw %q, want %q", j.req.Method, j.req.URL.Path, a.identity, j.want))
	}
}

// one sends a single job.
func one(client *http.Client, j job) *loadResult {
	return runLoad(loadSpec{client: client, workers: 1, max: 1, duration: time.Minute, next: func(int64) job { return j }})
}

// background runs spec until the returned function is called, which
// returns what it saw.
func background(spec loadSpec) func() *loadResult {
	done := make(chan *loadResult, 1)
	spec.stop = &atomic.Bool{}
	go func() { done <- runLoad(spec) }()
	return func() *loadResult {
		spec.stop.Store(true)
		return <-done
	}
}

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
