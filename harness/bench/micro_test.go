package main

import (
	"reflect"
	"testing"
)

func TestParseGoBench(t *testing.T) {
	got := parseGoBench(`goos: linux
BenchmarkServeHTTPCacheHit-2      	   20000	      3230 ns/op	    2752 B/op	      12 allocs/op
BenchmarkStripIdentityHeaders-16  	   20000	       116.0 ns/op	       0 B/op	       0 allocs/op
BenchmarkNoMem	 1000	 50 ns/op
BenchmarkX-y/sub-2	 1000	 60 ns/op
BenchmarkServeHTTPCacheHit-2      	   20000	      3000 ns/op	    2752 B/op	      11 allocs/op
BenchmarkNotAResult-2 	 ns/op
PASS
`)
	want := []benchLine{{"BenchmarkServeHTTPCacheHit", 3000, 11}, {"BenchmarkStripIdentityHeaders", 116, 0}, {"BenchmarkNoMem", 50, 0}, {"BenchmarkX-y/sub", 60, 0}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("parseGoBench = %+v, want %+v (a name seen twice keeps its last line, -GOMAXPROCS suffixes dropped)", got, want)
	}
}
