package main

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/traefik-authgear/traefik-authgear/harness/internal/harness"
)

// TestReadRuntimeStats serves Traefik's debug endpoints the way it does and
// checks that the live heap is read after two forced GCs.
func TestReadRuntimeStats(t *testing.T) {
	gcs, vars := 0, `{"Goroutines2": 42, "memstats": {"HeapAlloc": 123456, "Sys": 9}}`
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.String() {
		case "/debug/pprof/heap?gc=1":
			gcs++
		case "/debug/vars":
			if gcs != 2 {
				t.Errorf("/debug/vars read after %d forced GCs, want 2", gcs)
			}
			w.Write([]byte(vars))
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	addr := strings.TrimPrefix(srv.URL, "http://")
	rt, err := harness.ReadRuntimeStats(context.Background(), addr)
	if err != nil || rt != (harness.RuntimeStats{HeapAlloc: 123456, Goroutines: 42}) {
		t.Errorf("ReadRuntimeStats = %+v, %v", rt, err)
	}
	gcs, vars = 0, `{"cmdline": []}`
	if _, err := harness.ReadRuntimeStats(context.Background(), addr); err == nil {
		t.Error("no memstats: no error")
	}
	m := memResult{sessions: 10, before: memSnapshot{100, 50}, after: memSnapshot{10100, 5050}}
	if rss, heap := m.perEntry(); rss != 1000 || heap != 500 {
		t.Errorf("perEntry = %v, %v; want 1000, 500", rss, heap)
	}
}
