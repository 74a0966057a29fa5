package main

import "testing"

// TestCacheReportLineMatchesThePluginsReport: the line is the plugin's
// sizeReport (cache.go) as Traefik logs it at DEBUG.
func TestCacheReportLineMatchesThePluginsReport(t *testing.T) {
	w := &logWatch{}
	w.Write([]byte(`authgear middleware "flood@file": cache holds 10000 entries (max 10000, 1 protected) after 1000000 insertions, 990000 evicted to make room` + "\n"))
	if got, ok := w.lastCacheReport(); !ok || got != [4]int64{10000, 10000, 1000000, 990000} {
		t.Fatalf("lastCacheReport after the plugin's report: %v, %v", got, ok)
	}
}
