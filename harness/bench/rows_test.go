package main

import (
	"reflect"
	"testing"
)

func TestRoundOrder(t *testing.T) {
	all := map[string]bool{}
	for _, n := range rowNames() {
		all[n] = true
	}
	first, second := roundOrder(0, all), roundOrder(1, all)
	if len(first) != len(rowSpecs) {
		t.Fatalf("round 0 has %d rows, want %d", len(first), len(rowSpecs))
	}
	for i := range first {
		if first[i] != second[len(second)-1-i] {
			t.Fatalf("round 1 is not round 0 reversed: %v / %v", first, second)
		}
	}
	// Traefik and nginx rows alternate while both last.
	for i := 0; i < 6; i++ {
		spec, _ := specOf(first[i])
		want := proxyTraefik
		if i%2 == 1 {
			want = proxyNginx
		}
		if spec.proxy != want {
			t.Errorf("position %d is %s (%s), want a %s row", i, first[i], spec.proxy, want)
		}
	}
	some := roundOrder(0, map[string]bool{rowPluginHit: true, rowTraefikBare: true})
	if !reflect.DeepEqual(some, []string{rowTraefikBare, rowPluginHit}) {
		t.Errorf("selected rows = %v", some)
	}
}

func TestEveryRowHasABareRow(t *testing.T) {
	for _, s := range rowSpecs {
		if !knownRow(bareRow(s.proxy)) {
			t.Errorf("%s: no bare row for proxy %s", s.name, s.proxy)
		}
	}
}
