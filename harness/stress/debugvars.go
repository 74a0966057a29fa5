package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"time"
)

// runtimeStats are figures from Traefik's own Go runtime, read through its
// debug endpoints (harness.DebugAPI).
type runtimeStats struct {
	liveHeap   int64 // bytes allocated and still reachable, right after a forced GC
	goroutines int64
}

func (r runtimeStats) String() string {
	return fmt.Sprintf("%s live heap, %s goroutines", mib(r.liveHeap), count(r.goroutines))
}

// runtimeStats forces a garbage collection in Traefik (the heap profile with
// gc=1 does) and reads the heap still in use and the goroutine count.
func (e *env) runtimeStats() (runtimeStats, error) {
	c := &http.Client{Timeout: 30 * time.Second}
	base := "http://" + e.Traefik.AdminAddr
	resp, err := c.Get(base + "/debug/pprof/heap?gc=1")
	if err != nil {
		return runtimeStats{}, err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	resp, err = c.Get(base + "/debug/vars")
	if err != nil {
		return runtimeStats{}, err
	}
	defer resp.Body.Close()
	var vars struct {
		Goroutines int64 `json:"Goroutines2"`
		Memstats   struct {
			HeapAlloc int64
		} `json:"memstats"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&vars); err != nil {
		return runtimeStats{}, fmt.Errorf("traefik /debug/vars: %w", err)
	}
	if vars.Memstats.HeapAlloc == 0 {
		return runtimeStats{}, fmt.Errorf("traefik /debug/vars: no memstats (status %s)", resp.Status)
	}
	return runtimeStats{liveHeap: vars.Memstats.HeapAlloc, goroutines: vars.Goroutines}, nil
}
