package main

import (
	"strings"
	"testing"
	"time"
)

// TestResultsNameDateMachineAndCommit: the results file says when, on what
// machine and at which commit the run was made, and keeps the table.
func TestResultsNameDateMachineAndCommit(t *testing.T) {
	table := "| part | figure | value | limit | result |\n"
	doc := resultsDoc(runInfo{mode: "full", ended: time.Date(2026, 12, 7, 17, 39, 0, 0, time.UTC),
		machine: "AMD EPYC × 2 cores, 23.5 GiB RAM, Linux 6.1.0", commit: "84b8664 (stress: padding)",
		elapsed: 21 * time.Minute, verdict: "every limit holds"}, table)
	for _, want := range []string{"full run", "2026-12-07 17:39 UTC", "commit 84b8664 (stress: padding)",
		"AMD EPYC × 2 cores, 23.5 GiB RAM", "Run took 21m0s; every limit holds.", table} {
		if !strings.Contains(doc, want) {
			t.Errorf("results lack %q:\n%s", want, doc)
		}
	}
}
