package authgear

import (
	"errors"
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

// A transport error is the request's own fault only for what Go refuses to
// send; an error about the answer is Authgear's side, whose stale answer
// staleIfError may serve.
func TestRefusedRequestStatus(t *testing.T) {
	for _, tt := range []struct {
		err  string
		want int
	}{
		{"http2: request header list larger than peer's advertised limit", http.StatusRequestHeaderFieldsTooLarge},
		{`invalid HTTP header value for header "Authorization"`, http.StatusBadRequest},
		{`net/http: invalid header field value for "Authorization"`, http.StatusBadRequest},
		{`net/http: invalid header field name "x y"`, http.StatusBadRequest},
		{`stream error: stream ID 1; PROTOCOL_ERROR; invalid header field value for "X-Authgear-User-Id"`, 0},
		{"dial tcp 127.0.0.1:1: connect: connection refused", 0},
		{"net/http: timeout awaiting response headers", 0},
	} {
		if got := refusedRequestStatus(errors.New("resolver https://auth/_resolver/resolve: " + tt.err)); got != tt.want {
			t.Errorf("%s: %d, want %d", tt.err, got, tt.want)
		}
	}
}
