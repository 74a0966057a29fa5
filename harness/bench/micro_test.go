package main

import "testing"

func TestParseGoBench(t *testing.T) {
	out := `goos: linux
pkg: github.com/traefik-authgear/traefik-authgear
BenchmarkServeHTTPCacheHit-2      	   20000	      3230 ns/op	    2752 B/op	      12 allocs/op
BenchmarkStripIdentityHeaders-2   	   20000	       116.0 ns/op	       0 B/op	       0 allocs/op
BenchmarkNoMem	 1000	 50 ns/op
BenchmarkServeHTTPCacheHit-2      	   20000	      3000 ns/op	    2752 B/op	      11 allocs/op
PASS
`
	got := parseGoBench(out)
	if len(got) != 3 {
		t.Fatalf("parsed %d lines, want 3: %+v", len(got), got)
	}
	if b := got[0]; b.name != "BenchmarkServeHTTPCacheHit" || b.nsPerOp != 3000 || b.bytesPerOp != 2752 || b.allocsPerOp != 11 {
		t.Errorf("first = %+v, want the last CacheHit line", b)
	}
	if b := got[1]; b.name != "BenchmarkStripIdentityHeaders" || b.nsPerOp != 116 {
		t.Errorf("second = %+v", b)
	}
	if b := got[2]; b.name != "BenchmarkNoMem" || b.nsPerOp != 50 || b.allocsPerOp != 0 {
		t.Errorf("third = %+v", b)
	}
}

func TestTrimProcs(t *testing.T) {
	for in, want := range map[string]string{
		"BenchmarkX-2":      "BenchmarkX",
		"BenchmarkX":        "BenchmarkX",
		"BenchmarkX-y":      "BenchmarkX-y",
		"BenchmarkX/sub-16": "BenchmarkX/sub",
	} {
		if got := trimProcs(in); got != want {
			t.Errorf("trimProcs(%q) = %q, want %q", in, got, want)
		}
	}
}
