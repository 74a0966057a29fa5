package authgear

import (
	"net/http"
	"reflect"
	"testing"
)

// Every x-authgear-* header of the resolver's answer reaches each request,
// with all its values, in slices of the request's own: a handler that edits
// or appends to them changes neither the cached answer nor another request.
func TestApplyIdentityGivesEachRequestItsOwnValues(t *testing.T) {
	for _, tt := range []struct {
		name   string
		answer http.Header
	}{
		{"one value each, as Authgear sends", http.Header{"X-Authgear-Session-Valid": {"true"}, "X-Authgear-User-Id": {"u1"}}},
		{"a header with several values", http.Header{"X-Authgear-User-Roles": {"a", "b"}, "X-Authgear-User-Id": {"u1"}, "X-Authgear-Zeta": {"z"}}},
		{"an empty value", http.Header{"X-Authgear-Session-Amr": {""}, "X-Authgear-User-Id": {"u1"}}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			a := newAnswer(tt.answer)
			first, second := http.Header{}, http.Header{}
			applyIdentity(first, a)
			if !reflect.DeepEqual(first, tt.answer) {
				t.Fatalf("the request got %v, want %v", first, tt.answer)
			}
			for name, values := range first {
				values[0] = "edited"
				first[name] = append(values, "appended")
			}
			applyIdentity(second, a)
			if !reflect.DeepEqual(second, tt.answer) {
				t.Fatalf("after the first request's edits, the next got %v, want %v", second, tt.answer)
			}
		})
	}
}
