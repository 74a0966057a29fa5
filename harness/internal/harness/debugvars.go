package harness

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"time"
)

// DebugAPI is static configuration (Options.ExtraStatic) that serves
// Traefik's API with its debug endpoints, expvar and pprof, on the admin
// entrypoint (Traefik.AdminAddr), for ReadRuntimeStats.
const DebugAPI = "api:\n  insecure: true\n  debug: true\n"

// RuntimeStats are figures of Traefik's own Go runtime.
type RuntimeStats struct {
	// HeapAlloc is the live heap in bytes (runtime.MemStats.HeapAlloc)
	// right after forced garbage collections.
	HeapAlloc int64
	// Goroutines is Traefik's goroutine count.
	Goroutines int64
}

// ReadRuntimeStats forces two garbage collections in the Traefik whose admin
// entrypoint, with DebugAPI, is at adminAddr (its heap profile with gc=1 runs
// one; the second frees what the first left to sync.Pool's victim caches and
// to finalizers), then reads its expvar /debug/vars.
func ReadRuntimeStats(ctx context.Context, adminAddr string) (RuntimeStats, error) {
	client := &http.Client{Timeout: 30 * time.Second}
	get := func(path string) (*http.Response, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+adminAddr+path, nil)
		if err != nil {
			return nil, err
		}
		resp, err := client.Do(req)
		if err == nil && resp.StatusCode != http.StatusOK {
			resp.Body.Close()
			err = fmt.Errorf("traefik %s: %s (is DebugAPI in the static configuration?)", path, resp.Status)
		}
		return resp, err
	}
	for range 2 {
		resp, err := get("/debug/pprof/heap?gc=1")
		if err != nil {
			return RuntimeStats{}, err
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	resp, err := get("/debug/vars")
	if err != nil {
		return RuntimeStats{}, err
	}
	defer resp.Body.Close()
	var vars struct {
		Goroutines int64 `json:"Goroutines2"` // Traefik's own expvar
		Memstats   struct {
			HeapAlloc int64
		} `json:"memstats"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&vars); err != nil {
		return RuntimeStats{}, fmt.Errorf("traefik /debug/vars: %w", err)
	}
	if vars.Memstats.HeapAlloc == 0 {
		return RuntimeStats{}, fmt.Errorf("traefik /debug/vars: no memstats.HeapAlloc")
	}
	return RuntimeStats{HeapAlloc: vars.Memstats.HeapAlloc, Goroutines: vars.Goroutines}, nil
}
