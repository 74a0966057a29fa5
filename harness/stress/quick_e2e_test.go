//go:build e2e

package main

import (
	"testing"
	"time"
)

// The quick parts of make stress, as tests for the normal test command
// (go test -tags e2e ./stress/): the spoofing matrix and the malformed
// input against a real Traefik, and a few seconds of each fuzz target.

// checkRows fails the test for every figure whose limit does not hold.
func checkRows(t *testing.T, rep *report) {
	t.Helper()
	for _, f := range rep.failed() {
		t.Errorf("%s: %s = %s (limit %s)", f.part, f.figure, f.value, f.limit)
	}
}

// TestSpoofingAndMalformedInput: no spelling of a forged identity header,
// sent in any way over HTTP/1.1, HTTP/2 or h2c, reaches the backend, and
// every hostile request gets a defined answer with the resolver's identity,
// without a panic in Traefik.
func TestSpoofingAndMalformedInput(t *testing.T) {
	s, err := startStack([]mwSpec{
		{name: "spoof", options: []string{"cacheTTL: 60s"}},
		{name: "mal", options: []string{"cacheTTL: 60s"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer s.close()
	t.Run("spoofing matrix", func(t *testing.T) {
		rep := &report{}
		spoofReport(rep, spoofMatrix(s))
		checkRows(t, rep)
	})
	t.Run("malformed input", func(t *testing.T) {
		rep := &report{}
		malformedReport(rep, malformedRun(s))
		checkRows(t, rep)
	})
	rep := &report{}
	s.health(rep, "traefik")
	checkRows(t, rep)
}

// TestShortFuzz runs each fuzz target of the plugin for a few seconds.
func TestShortFuzz(t *testing.T) {
	if testing.Short() {
		t.Skip("fuzzing in -short mode")
	}
	for _, target := range fuzzTargets {
		t.Run(target, func(t *testing.T) {
			r := fuzzOnce(target, 3*time.Second)
			t.Logf("%s: %s execs", target, r.execs)
			if r.crashes != 0 {
				t.Errorf("%s failed (input %s):\n%s", target, r.input, r.output)
			}
		})
	}
}
