package main

import (
	"sync"
	"sync/atomic"
	"time"
)

// rssSample is Traefik's resident memory at one moment of a run.
type rssSample struct {
	at       time.Duration // since the sampler started
	progress int64         // requests sent so far
	rss      int64
}

// rssSampler reads Traefik's resident memory periodically.
type rssSampler struct {
	mu      sync.Mutex
	samples []rssSample
	stop    chan struct{}
	done    chan struct{}
}

// sampleRSS samples s's Traefik every interval until finish; progress, when
// set, is recorded with each sample.
func sampleRSS(s *stack, every time.Duration, progress *atomic.Int64) *rssSampler {
	r := &rssSampler{stop: make(chan struct{}), done: make(chan struct{})}
	start := time.Now()
	take := func() {
		var p int64
		if progress != nil {
			p = progress.Load()
		}
		if n := s.rss(); n > 0 {
			r.mu.Lock()
			r.samples = append(r.samples, rssSample{at: time.Since(start), progress: p, rss: n})
			r.mu.Unlock()
		}
	}
	go func() {
		defer close(r.done)
		t := time.NewTicker(every)
		defer t.Stop()
		take()
		for {
			select {
			case <-r.stop:
				take()
				return
			case <-t.C:
				take()
			}
		}
	}()
	return r
}

// finish stops sampling and returns the samples.
func (r *rssSampler) finish() []rssSample {
	close(r.stop)
	<-r.done
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]rssSample(nil), r.samples...)
}

// peakRSS returns the largest sample whose progress is at least from.
func peakRSS(samples []rssSample, from int64) int64 {
	var peak int64
	for _, s := range samples {
		if s.progress >= from && s.rss > peak {
			peak = s.rss
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

// rssAtTime returns the first sample at or after d.
func rssAtTime(samples []rssSample, d time.Duration) int64 {
	for _, s := range samples {
		if s.at >= d {
			return s.rss
		}
	}
	if len(samples) == 0 {
		return 0
	}
	return samples[len(samples)-1].rss
}
