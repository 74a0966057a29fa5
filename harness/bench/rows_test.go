package main

import (
	"slices"
	"testing"
)

func TestRows(t *testing.T) {
	first, second := roundOrder(0), roundOrder(1)
	slices.Reverse(second)
	if !slices.Equal(first, second) {
		t.Errorf("round 1 is not round 0 reversed: %v", second)
	}
	// Traefik and nginx rows alternate while both last.
	for i, name := range first[:6] {
		if specOf(name).nginx != (i%2 == 1) {
			t.Errorf("position %d is %s, want Traefik and nginx rows alternating", i, name)
		}
	}
	sorted := slices.Sorted(slices.Values(first))
	for _, s := range rowSpecs {
		if _, found := slices.BinarySearch(sorted, s.name); !found {
			t.Errorf("row %s is not in runOrder", s.name)
		}
		if bare := specOf(s.bareRow()); bare.expect != noAuth || bare.nginx != s.nginx {
			t.Errorf("%s: bare row %s is no bare row of its proxy", s.name, bare.name)
		}
	}
	if len(first) != len(rowSpecs) || len(slices.Compact(sorted)) != len(sorted) {
		t.Errorf("runOrder %v: want every row once", first)
	}
}
