package authgear

import (
	"context"
	"net/http"
	"runtime"
	"strconv"
	"testing"
)

// liveHeap returns the bytes still reachable after garbage collection.
func liveHeap() int64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return int64(m.HeapAlloc)
}

// TestNewWithChangedSettingsLeavesNoGarbage: a configuration reload that
// changes the middleware's settings replaces its shared instance (cache,
// client, transport); the replaced one must become garbage. Traefik calls New
// for every router on every reload, interpreted by Yaegi, so anything kept
// per call grows with the number of reloads.
//
// Compiled, nothing is kept. Under Yaegi v0.16.1 (tools/yaegi-test.sh), the
// plugin once kept about 7 KB per call (15 KiB per changed-setting reload in
// a real Traefik, see stress/reload.go), and in production the whole cache of
// every replaced instance: its http.Client had CheckRedirect set to an
// interpreted function, and the wrapper Yaegi makes for such a value keeps
// the frames of the functions that created it, which referred to the
// previous instance. The resolver is now called through Transport.RoundTrip,
// with no interpreted function handed to the standard library.
func TestNewWithChangedSettingsLeavesNoGarbage(t *testing.T) {
	next := http.HandlerFunc(func(http.ResponseWriter, *http.Request) {})
	newWithTTL := func(i int) {
		cfg := CreateConfig()
		cfg.ResolverURL = "http://127.0.0.1:1/_resolver/resolve"
		cfg.CacheTTL = strconv.Itoa(60+i%2) + "s"
		if _, err := New(context.Background(), next, cfg, "garbage-"+t.Name()); err != nil {
			t.Fatal(err)
		}
	}
	const warm, calls = 200, 2000
	for i := 0; i < warm; i++ {
		newWithTTL(i)
	}
	before := liveHeap()
	for i := 0; i < calls; i++ {
		newWithTTL(i)
	}
	per := (liveHeap() - before) / calls
	if per > 1024 {
		t.Errorf("each New with changed settings leaves %d bytes reachable, want none (at most 1024 for noise)", per)
	}
}
