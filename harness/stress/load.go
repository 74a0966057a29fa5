package main

import (
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

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
	mu       sync.Mutex
	requests int64
	late     int64 // fixed rate: requests sent over 10 ms after their time
	statuses map[int]int64
	// identity: wrong identity at the backend; status: not the job's status.
	identity, status tally
	slowest, elapsed time.Duration
}

// rate is the achieved requests per second.
func (r *loadResult) rate() float64 { return float64(r.requests) / max(r.elapsed.Seconds(), 1e-9) }

// failures counts the answers with a wrong status or identity.
func (r *loadResult) failures() int64 { return r.identity.n + r.status.n }

// runLoad runs a bounded load and returns what it saw. At a fixed rate,
// request i is due i/rate seconds after the start.
func runLoad(spec loadSpec) *loadResult {
	res := &loadResult{statuses: map[int]int64{}}
	start := time.Now()
	end := start.Add(spec.duration)
	var counter atomic.Int64
	var wg sync.WaitGroup
	for range spec.workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := counter.Add(1) - 1
				due := start
				if spec.rate > 0 {
					due = start.Add(time.Duration(i) * time.Second / time.Duration(spec.rate))
				}
				if spec.max > 0 && i >= spec.max || !waitUntil(due, end, spec.stop) {
					return
				}
				if spec.sent != nil {
					spec.sent.Add(1)
				}
				res.do(spec.client, spec.next(i), spec.rate > 0 && time.Since(due) > 10*time.Millisecond)
			}
		}()
	}
	wg.Wait()
	res.elapsed = time.Since(start)
	return res
}

// waitUntil waits for due; false when end or stop comes first.
func waitUntil(due, end time.Time, stop <-chan struct{}) bool {
	if !time.Now().Before(end) || !due.Before(end) {
		return false
	}
	t := time.NewTimer(time.Until(due))
	defer t.Stop()
	select {
	case <-stop:
		return false
	case <-t.C:
		return true
	}
}

// do sends one request and checks its answer.
func (r *loadResult) do(c *http.Client, j job, late bool) {
	start := time.Now()
	a := answerOf(c.Do(j.req))
	took := time.Since(start)
	r.mu.Lock()
	defer r.mu.Unlock()
	r.requests++
	r.statuses[a.status]++
	r.slowest = max(r.slowest, took)
	if late {
		r.late++
	}
	what := j.req.Method + " " + j.req.URL.Path
	if j.status != 0 && a.status != j.status {
		r.status.add(fmt.Sprintf("%s: %d %s, want %d", what, a.status, a.err, j.status))
	}
	if a.backend && (j.failing && a.identity != "" || !j.failing && a.identity != j.want) {
		r.identity.add(fmt.Sprintf("%s: backend saw %q, want %q (failing=%v)", what, a.identity, j.want, j.failing))
	}
}

// one sends a single job.
func one(client *http.Client, j job) *loadResult {
	return runLoad(loadSpec{client: client, workers: 1, max: 1, duration: time.Minute, next: func(int64) job { return j }})
}

// background runs spec until the returned function is called, which
// returns what it saw.
func background(spec loadSpec) func() *loadResult {
	stop, done := make(chan struct{}), make(chan *loadResult, 1)
	spec.stop = stop
	go func() { done <- runLoad(spec) }()
	return func() *loadResult {
		close(stop)
		return <-done
	}
}
