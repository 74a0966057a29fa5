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
	"github.com/traefik-authgear/traefik-authgear/harness/internal/stack"
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

func TestTraefikOptions(t *testing.T) {
	opts := traefikOptions("http://127.0.0.1:5/_resolver/resolve", "http://127.0.0.1:4", "/src/trivial")
	routed := map[string]bool{} // entrypoints
	for _, o := range opts {
		dynamic := (&stack.Stack{}).Dynamic(o.Middlewares, o.Routes)
		for _, r := range o.Routes {
			if len(r.EntryPoints) != 1 || routed[r.EntryPoints[0]] {
				t.Errorf("entrypoints %v: want one, routed once", r.EntryPoints)
			}
			routed[r.EntryPoints[0]] = true
			for _, mw := range r.Middlewares {
				if !strings.Contains(dynamic, "\n        "+mw+":\n") {
					t.Errorf("entrypoint %v: middleware %s is not defined beside it:\n%s", r.EntryPoints, mw, dynamic)
				}
			}
		}
		if o.ResolverURL == "" || o.BackendURL != "http://127.0.0.1:4" {
			t.Errorf("stack options %+v", o)
		}
	}
	for _, s := range rowSpecs {
		if !routed[s.ep] && !s.nginx {
			t.Errorf("row %s: no route on entrypoint %s", s.name, s.ep)
		}
	}
	if !opts[0].Traefik.NoPlugin || opts[0].Routes[0].Middlewares != nil || opts[1].Traefik.ExtraPlugins["trivial"] != "/src/trivial" {
		t.Errorf("want a bare Traefik with a route without middleware, and one with the plugins: %+v", opts)
	}
	dynamic := (&stack.Stack{}).Dynamic(opts[1].Middlewares, opts[1].Routes)
	for _, want := range []string{"trivial: {}", `cacheTTL: "0"`, "staleWhileRevalidate: 5m", "- reval\n"} {
		if !strings.Contains(dynamic, want) {
			t.Errorf("plugin Traefik's dynamic configuration lacks %q:\n%s", want, dynamic)
		}
	}
	if fa := opts[0].Middlewares[0].Body["forwardAuth"].(map[string]any); fa["address"] != "http://127.0.0.1:5/_resolver/resolve" {
		t.Errorf("forwardauth = %v", fa)
	}
}

func TestNginxConfig(t *testing.T) {
	c := nginxSettings{
		dir: "/tmp/x", workers: 2, user: "nobody nogroup",
		bareAddr: "127.0.0.1:1", authAddr: "127.0.0.1:2", authCacheAddr: "127.0.0.1:3",
		backendAddr: "127.0.0.1:4", resolverAddr: "127.0.0.1:5", resolverHost: "auth.example.test",
	}.config()
	for _, want := range []string{
		"user nobody nogroup;\n", "worker_processes 2;\n", "pid /tmp/x/nginx.pid;\n", "listen 127.0.0.1:1;", "keepalive 64;",
		"auth_request_set $x_authgear_user_id $upstream_http_x_authgear_user_id;",
		"proxy_set_header x-authgear-user-id $x_authgear_user_id;",
		"proxy_set_header Host auth.example.test;", "proxy_cache_key \"" + nginxCacheKey + "\";", "proxy_cache_lock on;",
	} {
		if !strings.Contains(c, want) {
			t.Errorf("nginx.conf lacks %q:\n%s", want, c)
		}
	}
	for text, n := range map[string]int{"proxy_cache authgear;": 1, "auth_request /_auth;": 2, "proxy_pass ": 5, "proxy_set_header Connection \"\";": 5} {
		if got := strings.Count(c, text); got != n {
			t.Errorf("%q %d times, want %d", text, got, n)
		}
	}
	if strings.Count(c, "{") != strings.Count(c, "}") {
		t.Errorf("unbalanced braces:\n%s", c)
	}
}
