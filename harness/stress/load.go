package main

import (
	"fmt"
	"io"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// statusTransportError stands for "no HTTP answer" in status counts.
const statusTransportError = -1

// job is one request of a load run and what its answer must show.
type job struct {
	req *http.Request
	// want is the identity summary the backend must report.
	want string
	// failing means the resolver fails for this request: the backend must
	// not see any identity at all.
	failing bool
	// status, when not 0, is the status the answer must have.
	status int
}

// loadSpec describes a load run; it stops at max requests, after duration,
// or when stop is closed, whichever comes first.
type loadSpec struct {
	client   *http.Client
	workers  int
	max      int64         // 0: no count limit
	duration time.Duration // required
	rate     int           // requests per second; 0: as fast as the workers go
	next     func(i int64) job
	stop     <-chan struct{}
	// sent, when set, counts requests as they are sent (for progress).
	sent *atomic.Int64
}

// loadResult is what a load run saw.
type loadResult struct {
	requests       int64
	late           int64 // fixed rate: ticks the workers could not keep up with
	statuses       map[int]int64
	identityErrors int64
	statusErrors   int64    // answers whose status is not the job's
	examples       []string // the first identity and status errors
	elapsed        time.Duration
}

// rate is the achieved requests per second.
func (r *loadResult) rate() float64 {
	if r.elapsed <= 0 {
		return 0
	}
	return float64(r.requests) / r.elapsed.Seconds()
}

// runLoad runs a bounded load and returns what it saw.
func runLoad(spec loadSpec) *loadResult {
	start := time.Now()
	deadline := time.NewTimer(spec.duration)
	defer deadline.Stop()
	done := make(chan struct{})
	var once sync.Once
	finish := func() { once.Do(func() { close(done) }) }
	go func() {
		select {
		case <-deadline.C:
		case <-spec.stop:
		case <-done:
		}
		finish()
	}()

	var tokens chan struct{}
	var late atomic.Int64
	if spec.rate > 0 {
		tokens = make(chan struct{}, spec.workers)
		go pace(spec.rate, tokens, done, &late)
	}

	var counter atomic.Int64
	results := make([]*loadResult, spec.workers)
	var wg sync.WaitGroup
	for w := 0; w < spec.workers; w++ {
		res := &loadResult{statuses: map[int]int64{}}
		results[w] = res
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				if tokens != nil {
					select {
					case <-tokens:
					case <-done:
						return
					}
				}
				select {
				case <-done:
					return
				default:
				}
				i := counter.Add(1) - 1
				if spec.max > 0 && i >= spec.max {
					finish()
					return
				}
				if spec.sent != nil {
					spec.sent.Add(1)
				}
				res.do(spec.client, spec.next(i))
			}
		}()
	}
	wg.Wait()
	finish()

	total := &loadResult{statuses: map[int]int64{}, elapsed: time.Since(start), late: late.Load()}
	for _, r := range results {
		total.requests += r.requests
		total.identityErrors += r.identityErrors
		total.statusErrors += r.statusErrors
		for k, v := range r.statuses {
			total.statuses[k] += v
		}
		for _, e := range r.examples {
			if len(total.examples) < 5 {
				total.examples = append(total.examples, e)
			}
		}
	}
	return total
}

// pace puts rate tokens per second into tokens until done is closed; a
// token that finds the channel full is counted as late.
func pace(rate int, tokens chan<- struct{}, done <-chan struct{}, late *atomic.Int64) {
	const tick = 10 * time.Millisecond
	t := time.NewTicker(tick)
	defer t.Stop()
	start := time.Now()
	issued := int64(0)
	for {
		select {
		case <-done:
			return
		case now := <-t.C:
			due := int64(now.Sub(start).Seconds() * float64(rate))
			for ; issued < due; issued++ {
				select {
				case tokens <- struct{}{}:
				default:
					late.Add(1)
				}
			}
		}
	}
}

// do sends one request and checks its answer.
func (r *loadResult) do(c *http.Client, j job) {
	r.requests++
	resp, err := c.Do(j.req)
	if err != nil {
		r.statuses[statusTransportError]++
		if j.status != 0 {
			r.statusError(j, err.Error())
		}
		return
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	resp.Body.Close()
	r.statuses[resp.StatusCode]++
	if j.status != 0 && resp.StatusCode != j.status {
		r.statusError(j, resp.Status)
	}
	if resp.Header.Get(hdrBackend) != "1" {
		return
	}
	got := resp.Header.Get(hdrIdentity)
	bad := got != j.want
	if j.failing {
		bad = got != ""
	}
	if bad {
		r.identityErrors++
		if len(r.examples) < 5 {
			r.examples = append(r.examples, fmt.Sprintf("%s %s: backend saw %q, want %q (failing=%v)",
				j.req.Method, j.req.URL.Path, got, j.want, j.failing))
		}
	}
}

func (r *loadResult) statusError(j job, got string) {
	r.statusErrors++
	if len(r.examples) < 5 {
		r.examples = append(r.examples, fmt.Sprintf("%s %s: %s, want %d", j.req.Method, j.req.URL.Path, got, j.status))
	}
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
