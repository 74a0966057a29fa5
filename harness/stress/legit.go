package main

import (
	"io"
	"net/http"
	"time"
)

// legitUser is a signed-in user who keeps using the site during a test.
type legitUser struct {
	stop chan struct{}
	done chan legitResult
}

// legitResult is what the user saw.
type legitResult struct {
	requests, failures int64
	slowest            time.Duration
	firstFailure       string
}

// startLegitUser sends alice's session cookie to path every interval on a
// connection of its own, and checks that each answer is 200 with alice's
// identity, until finish.
func startLegitUser(s *stack, path string, every time.Duration) *legitUser {
	h := http.Header{"Cookie": {"session=alice-session"}}
	want := s.oracle.identity(h)
	u := &legitUser{stop: make(chan struct{}), done: make(chan legitResult, 1)}
	client := newClient(1)
	go func() {
		var r legitResult
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-u.stop:
				u.done <- r
				return
			case <-t.C:
			}
			r.requests++
			start := time.Now()
			resp, err := client.Do(get(s.url(path), h))
			if d := time.Since(start); d > r.slowest {
				r.slowest = d
			}
			if err != nil {
				r.fail(err.Error())
				continue
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK || resp.Header.Get(hdrIdentity) != want {
				r.fail(resp.Status + " identity " + resp.Header.Get(hdrIdentity))
			}
		}
	}()
	return u
}

func (r *legitResult) fail(what string) {
	r.failures++
	if r.firstFailure == "" {
		r.firstFailure = what
	}
}

// finish stops the user and returns what it saw.
func (u *legitUser) finish() legitResult {
	close(u.stop)
	return <-u.done
}
