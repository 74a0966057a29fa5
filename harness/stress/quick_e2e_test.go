//go:build e2e

package main

import (
	"testing"
	"time"
)

// checkRows fails the test for every figure whose limit does not hold.
func checkRows(t *testing.T, rep *report) {
	t.Helper()
	for _, f := range rep.failed() {
		t.Errorf("%s: %s = %s (limit %s)", f.part, f.figure, f.value, f.limit)
	}
}

// TestSpoofingAndMalformedInput runs the spoof and malformed parts: no
// spelling of a forged identity header, sent in any way over HTTP/1.1,
// HTTP/2 or h2c, reaches the backend or sways requireSession or
// allowedRoles, and every hostile request gets a defined answer with the
// resolver's identity, without a panic in Traefik.
func TestSpoofingAndMalformedInput(t *testing.T) {
	o := &options{}
	for _, p := range parts(o) {
		if p.name != "spoof" && p.name != "malformed" {
			continue
		}
		t.Run(p.name, func(t *testing.T) {
			rep := &report{}
			if err := runPart(o, p, rep); err != nil {
				t.Fatal(err)
			}
			checkRows(t, rep)
		})
	}
}

// TestPaddedCredentialsCannotKeepARevokedSessionAlive runs the padding
// part: a client that pads its own resolver calls (junk bearer tokens, a
// huge User-Agent) until an HTTP/2 resolver refuses them does not keep a
// revoked session alive as a stale answer, and credentials over 8 KiB get
// 431 without a resolver call.
func TestPaddedCredentialsCannotKeepARevokedSessionAlive(t *testing.T) {
	o := &options{}
	for _, p := range parts(o) {
		if p.name == "padding" {
			rep := &report{}
			if err := runPart(o, p, rep); err != nil {
				t.Fatal(err)
			}
			checkRows(t, rep)
			return
		}
	}
	t.Fatal("no padding part")
}

// TestShortFuzz runs each fuzz target of the plugin for a few seconds.
func TestShortFuzz(t *testing.T) {
	if testing.Short() {
		t.Skip("fuzzing in -short mode")
	}
	for _, target := range fuzzTargets {
		t.Run(target, func(t *testing.T) {
			rep := &report{}
			fuzzCheck(rep, target, 3*time.Second)
			checkRows(t, rep)
		})
	}
}
