package main

import (
	"fmt"
	"sync/atomic"
	"time"
)

// rssSample is Traefik's resident memory once progress requests were sent.
type rssSample struct{ progress, rss int64 }

// sampleRSS samples e's Traefik every interval, with the progress, until
// the returned function is called, which returns the samples.
func sampleRSS(e *env, every time.Duration, progress *atomic.Int64) func() []rssSample {
	var samples []rssSample
	stop, done := make(chan struct{}), make(chan struct{})
	take := func() {
		if n := e.rss(); n > 0 {
			samples = append(samples, rssSample{progress.Load(), n})
		}
	}
	go func() {
		defer close(done)
		t := time.NewTicker(every)
		defer t.Stop()
		for take(); ; take() {
			select {
			case <-stop:
				take()
				return
			case <-t.C:
			}
		}
	}()
	return func() []rssSample {
		close(stop)
		<-done
		return samples
	}
}

// peakRSS returns the largest sample whose progress is at least from.
func peakRSS(samples []rssSample, from int64) int64 {
	var peak int64
	for _, s := range samples {
		if s.progress >= from {
			peak = max(peak, s.rss)
		}
	}
	return peak
}

// rssAt returns the first sample at or after progress p (the last sample
// when none is).
func rssAt(samples []rssSample, p int64) int64 {
	for _, s := range samples {
		if s.progress >= p {
			return s.rss
		}
	}
	if len(samples) == 0 {
		return 0
	}
	return samples[len(samples)-1].rss
}

// statsAt reads Traefik's runtime figures once progress reaches n, in the
// background; the returned function waits for them (or gives up after the
// run if progress never got there).
func statsAt(e *env, progress *atomic.Int64, n int64) func() (runtimeStats, error) {
	type result struct {
		st  runtimeStats
		err error
	}
	ch := make(chan result, 1)
	stop := make(chan struct{})
	go func() {
		for progress.Load() < n {
			select {
			case <-stop:
				ch <- result{err: fmt.Errorf("the run ended before %s requests", count(n))}
				return
			case <-time.After(100 * time.Millisecond):
			}
		}
		st, err := e.runtimeStats()
		ch <- result{st, err}
	}()
	return func() (runtimeStats, error) {
		close(stop)
		r := <-ch
		return r.st, r.err
	}
}
