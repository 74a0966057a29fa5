package standin_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/traefik-authgear/traefik-authgear/harness/internal/standin"
)

// control sends a control request and returns status and body.
func control(t *testing.T, h http.Handler, method, target, body string) (int, string) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(method, target, rd))
	return rec.Code, rec.Body.String()
}

func resolveWith(h http.Handler, cookie string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(http.MethodGet, standin.PathResolve, nil)
	req.Host = publicHost
	if cookie != "" {
		req.Header.Set("Cookie", cookie)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

func TestControlCallsAndReset(t *testing.T) {
	r := standin.New(loadUsers(t))
	for i := 0; i < 3; i++ {
		resolveWith(r, "")
	}
	steps := []struct {
		method, target string
		status         int
		body           string
	}{
		{http.MethodGet, "/_standin/calls", 200, `{"calls":3}` + "\n"},
		{http.MethodGet, "/_standin/calls", 200, `{"calls":3}` + "\n"}, // control requests are not calls
		{http.MethodPost, "/_standin/calls", 405, ""},
		{http.MethodGet, "/_standin/reset", 405, ""},
		{http.MethodPost, "/_standin/reset", 200, `{"calls":0}` + "\n"},
		{http.MethodGet, "/_standin/calls", 200, `{"calls":0}` + "\n"},
		{http.MethodGet, "/_standin/nope", 404, ""},
	}
	for _, s := range steps {
		status, body := control(t, r, s.method, s.target, "")
		if status != s.status || s.body != "" && body != s.body {
			t.Errorf("%s %s = %d %q, want %d %q", s.method, s.target, status, body, s.status, s.body)
		}
	}
}

func TestControlFault(t *testing.T) {
	r := standin.New(loadUsers(t))
	cases := []struct {
		query  string
		status int
		want   standin.Fault
		errSub string
	}{
		{"latency=20ms&status=500&mode=hang", 200, standin.Fault{Latency: 20 * time.Millisecond, Status: 500, Mode: standin.ModeHang}, ""},
		{"mode=close", 200, standin.Fault{Mode: standin.ModeClose}, ""},
		{"mode=reset", 200, standin.Fault{Mode: standin.ModeReset}, ""},
		{"mode=huge-header", 200, standin.Fault{Mode: standin.ModeHugeHeader}, ""},
		{"status=503", 200, standin.Fault{Status: 503}, ""},
		{"", 200, standin.Fault{}, ""},
		{"latency=fast", 400, standin.Fault{}, "latency"},
		{"latency=-1s", 400, standin.Fault{}, "non-negative"},
		{"status=abc", 400, standin.Fault{}, "status"},
		{"status=99", 400, standin.Fault{}, "200 to 599"},
		{"mode=explode", 400, standin.Fault{}, "mode"},
		{"delay=1s", 400, standin.Fault{}, `unknown parameter "delay"`},
	}
	for _, tc := range cases {
		t.Run(tc.query, func(t *testing.T) {
			r.SetFault(standin.Fault{})
			status, body := control(t, r, http.MethodPost, "/_standin/fault?"+tc.query, "")
			if status != tc.status {
				t.Fatalf("status = %d (%q), want %d", status, body, tc.status)
			}
			if tc.errSub != "" && !strings.Contains(body, tc.errSub) {
				t.Errorf("error body %q does not mention %q", body, tc.errSub)
			}
			if got := r.CurrentFault(); got != tc.want {
				t.Errorf("fault = %+v, want %+v", got, tc.want)
			}
		})
	}

	r.SetFault(standin.Fault{Latency: time.Second, Mode: standin.ModeHang})
	status, body := control(t, r, http.MethodGet, "/_standin/fault", "")
	if status != 200 || body != `{"latency":"1s","status":0,"mode":"hang"}`+"\n" {
		t.Errorf("GET fault = %d %q", status, body)
	}
	if status, _ := control(t, r, http.MethodGet, "/_standin/calls", ""); status != 200 {
		t.Errorf("control endpoint under a hang fault answered %d, want 200 (faults apply to resolve requests only)", status)
	}
	if status, _ := control(t, r, http.MethodPut, "/_standin/fault", ""); status != 405 {
		t.Errorf("PUT fault = %d, want 405", status)
	}
}

func TestControlUsers(t *testing.T) {
	r := standin.New(loadUsers(t))
	if rec := resolveWith(r, "session=alice-session"); rec.Header().Get("X-Authgear-User-Id") != aliceID {
		t.Fatalf("alice's session does not resolve before the change")
	}

	status, body := control(t, r, http.MethodPost, "/_standin/users",
		`[{"id":"dave","sessions":["dave-session"],"roles":["ops"]}]`)
	if status != 200 || body != `{"users":1}`+"\n" {
		t.Fatalf("POST users = %d %q", status, body)
	}
	if rec := resolveWith(r, "session=dave-session"); rec.Header().Get("X-Authgear-User-Roles") != "ops" {
		t.Errorf("new user: roles header %q, want ops", rec.Header().Get("X-Authgear-User-Roles"))
	}
	if rec := resolveWith(r, "session=alice-session"); rec.Header().Get("X-Authgear-Session-Valid") != "false" {
		t.Errorf("replaced user: valid = %q, want false", rec.Header().Get("X-Authgear-Session-Valid"))
	}

	status, body = control(t, r, http.MethodGet, "/_standin/users", "")
	var users []standin.User
	if err := json.Unmarshal([]byte(body), &users); status != 200 || err != nil || len(users) != 1 || users[0].ID != "dave" {
		t.Errorf("GET users = %d %q (%v)", status, body, err)
	}

	bad := []struct{ name, body, errSub string }{
		{"not an array", `{"users":[]}`, "JSON array"},
		{"unknown field", `[{"id":"x","token":"y"}]`, `unknown field "token"`},
		{"duplicate id", `[{"id":"x"},{"id":"x"}]`, "already used"},
	}
	for _, b := range bad {
		status, body := control(t, r, http.MethodPost, "/_standin/users", b.body)
		if status != 400 || !strings.Contains(body, b.errSub) {
			t.Errorf("%s: POST users = %d %q, want 400 mentioning %q", b.name, status, body, b.errSub)
		}
	}
	if got := r.Users(); len(got) != 1 || got[0].ID != "dave" {
		t.Errorf("a rejected POST changed the users: %+v", got)
	}
}
