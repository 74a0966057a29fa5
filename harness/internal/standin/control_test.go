package standin_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/traefik-authgear/traefik-authgear/harness/internal/standin"
)

// TestControl drives the control endpoints in turn after three resolve
// requests; they are never counted as calls, nor subject to faults.
func TestControl(t *testing.T) {
	r := standin.New(loadUsers(t))
	for range 3 {
		serve(r, call{})
	}
	const get, post = http.MethodGet, http.MethodPost
	for _, s := range []struct {
		method, path, body string
		status             int
		want               string // in the answer's body
	}{
		{get, "calls", "", 200, `{"calls":3}` + "\n"},
		{get, "calls", "", 200, `{"calls":3}` + "\n"},
		{post, "calls", "", 405, ""},
		{get, "reset", "", 405, ""},
		{post, "reset", "", 200, `{"calls":0}` + "\n"},
		{get, "calls", "", 200, `{"calls":0}` + "\n"},
		{get, "nope", "", 404, ""},
		{http.MethodPut, "fault", "", 405, ""},
		{post, "fault?latency=1s&mode=hang", "", 200, ""},
		{get, "fault", "", 200, `{"latency":"1s","status":0,"mode":"hang"}` + "\n"},
		{get, "calls", "", 200, `{"calls":0}`},
		{post, "users", `[{"id":"dave","sessions":["dave-session"],"roles":["ops"]}]`, 200, `{"users":1}` + "\n"},
		{get, "users", "", 200, `[{"id":"dave","email":"","sessions":["dave-session"]`},
		{post, "users", `{"users":[]}`, 400, "JSON array"},
		{post, "users", `[{"id":"x","token":"y"}]`, 400, `unknown field "token"`},
		{post, "users", `[{"id":"x"},{"id":"x"}]`, 400, "already used"},
		{post, "fault", "", 200, ""},
	} {
		rec := serve(r, call{method: s.method, target: standin.ControlPrefix + s.path, body: s.body})
		if rec.Code != s.status || !strings.Contains(rec.Body.String(), s.want) {
			t.Errorf("%s %s = %d %q, want %d %q", s.method, s.path, rec.Code, rec.Body, s.status, s.want)
		}
	}
	if got := r.Users(); len(got) != 1 || got[0].ID != "dave" {
		t.Errorf("users %+v: want dave alone, rejected POSTs changing nothing", got)
	}
	if rec := serve(r, call{header: "Cookie: session=dave-session"}); rec.Header().Get("X-Authgear-User-Roles") != "ops" {
		t.Errorf("the new user: roles %q, want ops", rec.Header().Get("X-Authgear-User-Roles"))
	}
	compareHeaders(t, serve(r, alicesSession).Header(), stale("session"))
}

// TestControlFaultErrors: a bad fault query is refused, saying why, and
// sets nothing (the valid ones are in TestFaults).
func TestControlFaultErrors(t *testing.T) {
	r := standin.New(loadUsers(t))
	for _, tc := range []struct{ query, errSub string }{
		{"latency=fast", "latency"},
		{"latency=-1s", "non-negative"},
		{"status=abc", "status"},
		{"status=99", "200 to 599"},
		{"mode=explode", "mode"},
		{"delay=1s", `unknown parameter "delay"`},
	} {
		rec := serve(r, call{method: http.MethodPost, target: standin.ControlPrefix + "fault?" + tc.query})
		if rec.Code != 400 || !strings.Contains(rec.Body.String(), tc.errSub) || r.CurrentFault() != (standin.Fault{}) {
			t.Errorf("%q: %d %q, fault %+v; want 400 mentioning %q, no fault", tc.query, rec.Code, rec.Body, r.CurrentFault(), tc.errSub)
		}
	}
}
