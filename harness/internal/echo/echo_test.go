package echo_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/traefik-authgear/traefik-authgear/harness/internal/echo"
)

func TestEchoJSON(t *testing.T) {
	req := httptest.NewRequest(http.MethodPost, "/api/items?x=1", strings.NewReader(`{"a":1}`))
	req.Host = "api.example.test"
	req.Header.Set("X-Authgear-User-Id", "u1")
	req.Header.Set("X-Authgear-User-Roles", "admin,editor")
	req.Header.Set("X-Authgear-Session-Valid", "true")
	req.Header.Add("X-Multi", "a")
	req.Header.Add("X-Multi", "b")
	rec := httptest.NewRecorder()
	echo.Handler().ServeHTTP(rec, req)

	if rec.Code != 200 || rec.Header().Get("Content-Type") != "application/json" {
		t.Fatalf("answer %d %q, want 200 application/json", rec.Code, rec.Header().Get("Content-Type"))
	}
	var got echo.Request
	if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil {
		t.Fatalf("body is not JSON: %v\n%s", err, rec.Body)
	}
	checks := []struct{ name, got, want string }{
		{"method", got.Method, http.MethodPost},
		{"path", got.Path, "/api/items"},
		{"query", got.Query, "x=1"},
		{"host", got.Host, "api.example.test"},
		{"body", got.Body, `{"a":1}`},
		{"Host header", strings.Join(got.Headers["Host"], ","), "api.example.test"},
		{"user id header", strings.Join(got.Headers["X-Authgear-User-Id"], ","), "u1"},
		{"repeated header", strings.Join(got.Headers["X-Multi"], ","), "a,b"},
		{"X-Echo-Authgear", rec.Header().Get("X-Echo-Authgear"), "session-valid=true;user-id=u1;user-roles=admin,editor"},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s = %q, want %q", c.name, c.got, c.want)
		}
	}
}

func TestEchoWithoutIdentity(t *testing.T) {
	rec := httptest.NewRecorder()
	echo.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/", nil))
	if v, ok := rec.Header()["X-Echo-Authgear"]; ok {
		t.Errorf("X-Echo-Authgear = %q without any x-authgear header, want it absent", v)
	}
}

func TestSmall(t *testing.T) {
	for _, target := range []string{"/small", "/anything?small=1", "/x?a=b&small=1"} {
		rec := httptest.NewRecorder()
		echo.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, target, nil))
		if rec.Code != 200 || rec.Body.String() != "ok" {
			t.Errorf("%s: %d %q, want 200 \"ok\"", target, rec.Code, rec.Body)
		}
	}
	for _, target := range []string{"/x?small=10", "/x?notsmall=1"} {
		rec := httptest.NewRecorder()
		echo.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, target, nil))
		if rec.Header().Get("Content-Type") != "application/json" {
			t.Errorf("%s: got the small answer, want the JSON echo", target)
		}
	}
}

func TestAuthgearSummary(t *testing.T) {
	cases := []struct {
		name string
		h    http.Header
		want string
	}{
		{"none", http.Header{"Cookie": {"a=b"}}, ""},
		{"sorted, prefix stripped", http.Header{"X-Authgear-User-Id": {"u"}, "X-Authgear-Session-Amr": {""}}, "session-amr=;user-id=u"},
		{"non-canonical key", http.Header{"x-authgear-user-id": {"u"}}, "user-id=u"},
		{"prefix alone is not a header", http.Header{"X-Authgear-": {"u"}}, ""},
	}
	for _, tc := range cases {
		if got := echo.AuthgearSummary(tc.h); got != tc.want {
			t.Errorf("%s: AuthgearSummary = %q, want %q", tc.name, got, tc.want)
		}
	}
}

func BenchmarkSmall(b *testing.B) {
	h := echo.Handler()
	req := httptest.NewRequest(http.MethodGet, "/small", nil)
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		h.ServeHTTP(httptest.NewRecorder(), req)
	}
}
