package echo_test

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

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
	var got echo.Request
	if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil || rec.Code != 200 || rec.Header().Get("Content-Type") != "application/json" {
		t.Fatalf("answer %d %q %s (%v), want 200 application/json", rec.Code, rec.Header().Get("Content-Type"), rec.Body, err)
	}
	for _, c := range []struct{ name, got, want string }{
		{"method", got.Method, http.MethodPost},
		{"path", got.Path, "/api/items"},
		{"query", got.Query, "x=1"},
		{"host", got.Host, "api.example.test"},
		{"body", got.Body, `{"a":1}`},
		{"Host header", strings.Join(got.Headers["Host"], ","), "api.example.test"},
		{"user id header", strings.Join(got.Headers["X-Authgear-User-Id"], ","), "u1"},
		{"repeated header", strings.Join(got.Headers["X-Multi"], ","), "a,b"},
		{"X-Echo-Authgear", rec.Header().Get("X-Echo-Authgear"), "session-valid=true;user-id=u1;user-roles=admin,editor"},
	} {
		if c.got != c.want {
			t.Errorf("%s = %q, want %q", c.name, c.got, c.want)
		}
	}
}

// TestPaths sends plain GETs without identity headers: the small answer,
// the JSON echo without X-Echo-Authgear, a refused WebSocket upgrade.
func TestPaths(t *testing.T) {
	for _, tc := range []struct{ target, answer string }{
		{"/small", "small"},
		{"/anything?small=1", "small"},
		{"/x?a=b&small=1", "small"},
		{"/x?small=10", "json"},
		{"/x?notsmall=1", "json"},
		{"/", "json"},
		{echo.PathWebSocket, "refusal"},
	} {
		rec := httptest.NewRecorder()
		echo.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, tc.target, nil))
		_, summary := rec.Header()["X-Echo-Authgear"]
		ok := map[string]bool{
			"small":   rec.Code == 200 && rec.Body.String() == "ok",
			"json":    rec.Code == 200 && rec.Header().Get("Content-Type") == "application/json" && !summary,
			"refusal": rec.Code >= 400,
		}[tc.answer]
		if !ok {
			t.Errorf("%s: %d %v %q, want the %s answer", tc.target, rec.Code, rec.Header(), rec.Body, tc.answer)
		}
	}
}

func TestAuthgearSummary(t *testing.T) {
	for _, tc := range []struct {
		name string
		h    http.Header
		want string
	}{
		{"an empty value", http.Header{"X-Authgear-User-Id": {"u"}, "X-Authgear-Session-Amr": {""}}, "session-amr=;user-id=u"},
		{"non-canonical key", http.Header{"x-authgear-user-id": {"u"}}, "user-id=u"},
		{"prefix alone is not a header", http.Header{"X-Authgear-": {"u"}}, ""},
	} {
		if got := echo.AuthgearSummary(tc.h); got != tc.want {
			t.Errorf("%s: AuthgearSummary = %q, want %q", tc.name, got, tc.want)
		}
	}
}

func TestWebSocketEchoesAndReportsTheIdentity(t *testing.T) {
	srv := httptest.NewServer(echo.Handler())
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, resp, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(srv.URL, "http")+echo.PathWebSocket,
		&websocket.DialOptions{HTTPHeader: http.Header{"X-Authgear-User-Id": {"u1"}}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseNow()
	c.SetReadLimit(1 << 20)
	if got := resp.Header.Get("X-Echo-User-Id"); got != "u1" {
		t.Errorf("X-Echo-User-Id = %q, want u1", got)
	}
	for _, msg := range []string{"hello", "", strings.Repeat("é", 100), strings.Repeat("x", 70000)} {
		if err := c.Write(ctx, websocket.MessageText, []byte(msg)); err != nil {
			t.Fatal(err)
		}
		typ, got, err := c.Read(ctx)
		if err != nil || typ != websocket.MessageText || string(got) != msg {
			t.Fatalf("echo of %d bytes: %d bytes, %v", len(msg), len(got), err)
		}
	}
	if err := c.Close(websocket.StatusNormalClosure, "bye"); err != nil {
		t.Errorf("close handshake: %v", err)
	}
}

// TestSSE reads streams directly and through a reverse proxy that sets the
// identity: the user's event, then 1 to count, streamed (the default's first
// event comes well before its last, which cannot come before 5 intervals);
// bad parameters are refused.
func TestSSE(t *testing.T) {
	backend := httptest.NewServer(echo.Handler())
	defer backend.Close()
	target, _ := url.Parse(backend.URL)
	rp := httputil.NewSingleHostReverseProxy(target)
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.Header.Set("X-Authgear-User-Id", "alice")
		rp.ServeHTTP(w, r)
	}))
	defer proxy.Close()
	for _, tc := range []struct {
		base, query, user, want string // want: the events' data, or the status
	}{
		{backend.URL, "", "u1", "user=u1 1 2 3 4 5"},
		{proxy.URL, "", "", "user=alice 1 2 3 4 5"},
		{backend.URL, "?count=2&interval=1ms", "", "user= 1 2"},
		{backend.URL, "?count=-1", "", "400"},
		{backend.URL, "?count=x", "", "400"},
		{backend.URL, "?interval=0s", "", "400"},
		{backend.URL, "?interval=soon", "", "400"},
	} {
		u := tc.base + echo.PathSSE + tc.query
		req, _ := http.NewRequest(http.MethodGet, u, nil)
		req.Header.Set("X-Authgear-User-Id", tc.user)
		start := time.Now()
		resp, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		var at []time.Duration
		for sc := bufio.NewScanner(resp.Body); sc.Scan(); {
			if data, ok := strings.CutPrefix(sc.Text(), "data: "); ok {
				got, at = append(got, data), append(at, time.Since(start))
			}
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			got = []string{strconv.Itoa(resp.StatusCode)}
		} else if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream" {
			t.Errorf("%s: Content-Type %q", u, ct)
		}
		if strings.Join(got, " ") != tc.want {
			t.Errorf("%s: %q, want %q", u, got, tc.want)
		} else if len(at) == 6 && (at[5] < 5*echo.SSEInterval || at[5]-at[0] < 2*echo.SSEInterval) {
			t.Errorf("%s: first event at %v, last at %v: want the last after %v, and the stream not buffered", u, at[0], at[5], 5*echo.SSEInterval)
		}
	}
}
