package main

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/traefik-authgear/traefik-authgear/harness/internal/harness"
)

func TestStatCPU(t *testing.T) {
	// A command name with spaces and a parenthesis, as nginx workers have.
	cpu, err := statCPU("4242 (nginx: worker (x)) S 4241 4241 4241 0 -1 4194624 100 0 0 0 250 75 0 0 20 0 1 0 123 456 789")
	if err != nil || cpu != 325*clockTick {
		t.Errorf("statCPU = %v, %v; want %v", cpu, err, 325*clockTick)
	}
	if _, err := statCPU("4242 (x) S 1 2"); err == nil {
		t.Error("short line: no error")
	}
	before := cpuTimes{1: 100 * time.Millisecond, 2: 50 * time.Millisecond, 3: time.Second}
	after := cpuTimes{1: 300 * time.Millisecond, 2: 50 * time.Millisecond, 4: 20 * time.Millisecond}
	if got := after.since(before); got != 220*time.Millisecond {
		t.Errorf("since = %v, want 220ms (process 3 gone, process 4 new)", got)
	}
}

func TestTreeCPU(t *testing.T) {
	child := exec.Command("sleep", "10")
	if err := child.Start(); err != nil {
		t.Fatal(err)
	}
	defer child.Process.Kill()
	c, err := treeCPU(os.Getpid())
	own, ok := c[os.Getpid()]
	if _, childOK := c[child.Process.Pid]; err != nil || !ok || !childOK || own < 0 || own > time.Hour {
		t.Errorf("treeCPU = %v, %v; want this process's CPU time, and its child %d's", c, err, child.Process.Pid)
	}
	if _, err := treeCPU(1 << 30); err == nil {
		t.Error("missing process: no error")
	}
}

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
