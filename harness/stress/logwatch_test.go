package main

import "testing"

// TestCacheReportLineMatchesThePluginsReport: the line is the plugin's
// sizeReport (cache.go) as Traefik logs it at DEBUG.
func TestCacheReportLineMatchesThePluginsReport(t *testing.T) {
	line := `authgear middleware "flood@file": cache holds 10000 entries (max 10000, 1 protected) after 1000000 insertions, 990000 evicted to make room`
	m := cacheReportLine.FindStringSubmatch(line)
	if m == nil || m[1] != "10000" || m[2] != "10000" || m[3] != "1000000" || m[4] != "990000" {
		t.Fatalf("cacheReportLine on the plugin's report: %q", m)
	}
}
