package standin_test

import (
	"cmp"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/traefik-authgear/traefik-authgear/harness/internal/echo"
	"github.com/traefik-authgear/traefik-authgear/harness/internal/standin"
)

// TestControl drives the control endpoints in turn after three resolve
// requests; they are never counted as calls, nor subject to faults. A bad
// fault query is refused, saying why, and changes nothing (the valid ones are
// in TestFaults).
func TestControl(t *testing.T) {
	r := standin.New(loadUsers(t))
	for range 3 {
		serve(r, call{})
	}
	const get, post = http.MethodGet, http.MethodPost
	for _, s := range []struct {
		method, path string
		status       int
		want         string // in the answer's body
	}{
		{get, "calls", 200, `{"calls":3}` + "\n"},
		{get, "calls", 200, `{"calls":3}` + "\n"},
		{post, "calls", 405, ""},
		{get, "nope", 404, ""},
		{http.MethodPut, "fault", 405, ""},
		{post, "fault?latency=1s&mode=hang", 200, ""},
		{post, "fault?latency=fast", 400, "latency"},
		{post, "fault?latency=-1s", 400, "non-negative"},
		{post, "fault?status=abc", 400, "status"},
		{post, "fault?status=99", 400, "200 to 599"},
		{post, "fault?mode=explode", 400, "mode"},
		{post, "fault?delay=1s", 400, `unknown parameter "delay"`},
		{get, "fault", 200, `{"latency":"1s","mode":"hang","status":0}` + "\n"},
		{get, "calls", 200, `{"calls":3}`},
		{post, "fault", 200, ""},
		{get, "fault", 200, `{"latency":"0s","mode":"","status":0}`},
	} {
		rec := serve(r, call{method: s.method, target: standin.ControlPrefix + s.path})
		if rec.Code != s.status || !strings.Contains(rec.Body.String(), s.want) {
			t.Errorf("%s %s = %d %q, want %d %q", s.method, s.path, rec.Code, rec.Body, s.status, s.want)
		}
	}
}

// TestFaults sets each fault with POST /_standin/fault (the query in
// Fault.String's form) on a real listener and sends alice's session, on a
// connection of its own (counted as a call); then again once the fault is
// cleared, which must answer normally.
func TestFaults(t *testing.T) {
	for _, tc := range []struct {
		query   string
		timeout time.Duration // the client's; 0: 10 s; -1: that, and Close releases the call once it arrived
		status  int           // 0: no answer (a transport error or the client's timeout)
		body    string
		least   time.Duration // the answer or failure comes no sooner
	}{
		{"", 0, 200, "", 0},
		{"latency=60ms", 0, 200, "", 60 * time.Millisecond},
		{"latency=1m0s", 50 * time.Millisecond, 0, "", 50 * time.Millisecond},
		{"status=500", 0, 500, "internal error\n", 0},
		{"latency=10ms&status=503", 0, 503, "Service Unavailable\n", 10 * time.Millisecond},
		{"status=404", 0, 404, "Not Found\n", 0},
		{"mode=hang", -1, 0, "", 0},
		{"latency=20ms&mode=hang&status=500", 80 * time.Millisecond, 0, "", 80 * time.Millisecond},
		{"mode=close", 0, 0, "", 0},
		{"mode=reset", 0, 0, "", 0},
		{"mode=huge-header", 0, 200, "", 0},
	} {
		t.Run(tc.query, func(t *testing.T) {
			r := standin.New(loadUsers(t))
			srv := httptest.NewServer(r)
			defer srv.Close()
			defer r.Close() // first: the server's Close waits for hung handlers
			if rec := serve(r, call{method: http.MethodPost, target: standin.ControlPrefix + "fault?" + tc.query}); rec.Code != 200 || r.CurrentFault().String() != tc.query {
				t.Fatalf("POST fault: %d %s, fault %q", rec.Code, rec.Body, r.CurrentFault())
			}
			var a struct {
				resp *http.Response
				body string
				err  error
			}
			done, began := make(chan struct{}), time.Now()
			go func() {
				defer close(done)
				c := &http.Client{Timeout: cmp.Or(max(tc.timeout, 0), 10*time.Second), Transport: &http.Transport{DisableKeepAlives: true}}
				a.resp, a.body, a.err = send(c, srv.URL, call{header: "Cookie: session=alice-session"})
			}()
			for tc.timeout < 0 && r.Calls() == 0 {
				time.Sleep(time.Millisecond) // polls for the arrival, then releases it
			}
			if tc.timeout < 0 {
				r.Close()
			}
			<-done
			if got := r.Calls(); got != 1 {
				t.Errorf("Calls = %d, want 1", got)
			}
			if d := time.Since(began); d < tc.least || tc.timeout < 0 && d > 5*time.Second {
				t.Errorf("over after %v, want at least %v (Close releasing a hang at once)", d, tc.least)
			}
			switch {
			case tc.status == 0:
				if a.err == nil {
					t.Fatalf("want no answer, got %d %v", a.resp.StatusCode, a.resp.Header)
				}
			case a.err != nil:
				t.Fatal(a.err)
			case a.resp.StatusCode != tc.status || a.body != tc.body:
				t.Errorf("%d %q, want %d %q", a.resp.StatusCode, a.body, tc.status, tc.body)
			case tc.status == 200 && a.resp.Header.Get("X-Authgear-User-Id") != aliceID:
				t.Errorf("the fault changed the answer: %v", a.resp.Header)
			case tc.status != 200 && (echo.AuthgearSummary(a.resp.Header) != "" || a.resp.Header.Get("Content-Type") != "text/plain; charset=utf-8"):
				t.Errorf("an error answer with identity headers or not in plain text: %v", a.resp.Header)
			}
			if tc.query == "mode=close" || tc.query == "mode=reset" {
				func() { // in process, as under HTTP/2: no connection to take, the handler aborts
					defer func() {
						if err, _ := recover().(error); !errors.Is(err, http.ErrAbortHandler) {
							t.Errorf("in process: panic %v, want http.ErrAbortHandler", err)
						}
					}()
					serve(r, call{})
				}()
			}
			if tc.query == "mode=huge-header" {
				limited := &http.Client{Transport: &http.Transport{MaxResponseHeaderBytes: 64 << 10}}
				if _, _, err := send(limited, srv.URL, call{}); len(a.resp.Header.Get("X-Authgear-Padding")) != standin.HugeHeaderSize || err == nil {
					t.Errorf("want X-Authgear-Padding of %d bytes, refused by a client limiting headers to 64 KiB (%v)", standin.HugeHeaderSize, err)
				}
			}
			r.SetFault(standin.Fault{})
			if resp, _, err := send(http.DefaultClient, srv.URL, call{header: "Cookie: session=alice-session"}); err != nil || resp.Header.Get("X-Authgear-User-Id") != aliceID {
				t.Errorf("after clearing the fault: %v", err)
			}
		})
	}
}
