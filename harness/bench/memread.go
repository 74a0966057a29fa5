package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/traefik-authgear/traefik-authgear/harness/internal/harness"
)

// After a forced GC, the Go runtime returns freed memory to the system
// gradually: RSS is read once it has dropped by less than memSettleStep over
// memSettleQuiet, or after memSettleMax.
const (
	memSettleStep  = 1 << 20
	memSettleQuiet = 3 * time.Second
	memSettleMax   = 30 * time.Second
)

// snapshot forces two GCs in Traefik (its debug API's heap profile with
// gc=1; the second one frees what the first left to sync.Pool victim caches
// and finalizers), reads the live heap, then waits for the RSS to settle and
// reads it.
func snapshot(ctx context.Context, t *harness.Traefik) (memSnapshot, error) {
	s := memSnapshot{heap: -1}
	admin := "http://" + t.AdminAddr
	for i := 0; i < 2; i++ {
		if err := getOK(ctx, checkClient, admin+"/debug/pprof/heap?gc=1", ""); err != nil {
			return s, fmt.Errorf("forced GC: %w", err)
		}
	}
	if h, err := heapAlloc(ctx, admin+"/debug/vars"); err == nil {
		s.heap = h
	}
	var err error
	s.rss, err = settledRSS(ctx, t)
	return s, err
}

// settledRSS polls Traefik's RSS every second until it has stopped falling.
func settledRSS(ctx context.Context, t *harness.Traefik) (int64, error) {
	deadline := time.Now().Add(memSettleMax)
	var seen []int64 // one reading a second
	quiet := int(memSettleQuiet / time.Second)
	for {
		select {
		case <-ctx.Done():
			return 0, ctx.Err()
		case <-time.After(time.Second):
		}
		rss, err := t.RSS()
		if err != nil {
			return 0, err
		}
		seen = append(seen, rss)
		if len(seen) > quiet && seen[len(seen)-1-quiet]-rss < memSettleStep || time.Now().After(deadline) {
			return rss, nil
		}
	}
}

// heapAlloc reads memstats.HeapAlloc from an expvar endpoint.
func heapAlloc(ctx context.Context, url string) (int64, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return 0, err
	}
	resp, err := checkClient.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	var v struct {
		Memstats struct {
			HeapAlloc int64 `json:"HeapAlloc"`
		} `json:"memstats"`
	}
	if resp.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	if err := json.NewDecoder(resp.Body).Decode(&v); err != nil {
		return 0, err
	}
	if v.Memstats.HeapAlloc == 0 {
		return 0, fmt.Errorf("GET %s: no memstats.HeapAlloc", url)
	}
	return v.Memstats.HeapAlloc, nil
}
