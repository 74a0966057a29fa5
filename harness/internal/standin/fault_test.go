package standin_test

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/traefik-authgear/traefik-authgear/harness/internal/standin"
)

// faultServer starts the stand-in on a real listener. Cleanup releases hung
// handlers before closing the server, which waits for them.
func faultServer(t *testing.T) (*standin.Resolver, *httptest.Server) {
	t.Helper()
	r := standin.New(loadUsers(t))
	srv := httptest.NewServer(r)
	t.Cleanup(func() {
		r.Close()
		srv.Close()
	})
	return r, srv
}

// newClient never reuses connections, so a fault on one call cannot leak into
// the next.
func newClient(timeout time.Duration) *http.Client {
	return &http.Client{Timeout: timeout, Transport: &http.Transport{DisableKeepAlives: true}}
}

func get(client *http.Client, url, cookie string) (*http.Response, string, error) {
	req, err := http.NewRequest(http.MethodGet, url+standin.PathResolve, nil)
	if err != nil {
		return nil, "", err
	}
	req.Host = publicHost
	if cookie != "" {
		req.Header.Set("Cookie", cookie)
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return resp, string(body), err
}

func TestFaultLatency(t *testing.T) {
	r, srv := faultServer(t)
	r.SetFault(standin.Fault{Latency: 60 * time.Millisecond})
	start := time.Now()
	resp, _, err := get(newClient(5*time.Second), srv.URL, "session=alice-session")
	if err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d < 60*time.Millisecond {
		t.Errorf("answered after %v, want at least the 60ms latency", d)
	}
	if resp.Header.Get("X-Authgear-User-Id") != aliceID {
		t.Errorf("latency changed the answer: %v", resp.Header)
	}
}

func TestFaultLatencyEndsWithClient(t *testing.T) {
	r, srv := faultServer(t)
	r.SetFault(standin.Fault{Latency: time.Minute})
	if _, _, err := get(newClient(50*time.Millisecond), srv.URL, ""); err == nil {
		t.Fatal("want a client timeout")
	}
	r.SetFault(standin.Fault{})
	if _, _, err := get(newClient(5*time.Second), srv.URL, ""); err != nil {
		t.Errorf("after clearing the fault: %v", err)
	}
	if got := r.Calls(); got != 2 {
		t.Errorf("Calls = %d, want 2", got)
	}
}

func TestFaultStatus(t *testing.T) {
	cases := []struct {
		fault standin.Fault
		body  string
	}{
		{standin.Fault{Status: 500}, "internal error\n"},
		{standin.Fault{Status: 503, Latency: 10 * time.Millisecond}, "Service Unavailable\n"},
		{standin.Fault{Status: 404}, "Not Found\n"},
	}
	r, srv := faultServer(t)
	for _, tc := range cases {
		r.SetFault(tc.fault)
		resp, body, err := get(newClient(5*time.Second), srv.URL, "session=alice-session")
		if err != nil {
			t.Fatal(err)
		}
		if resp.StatusCode != tc.fault.Status || body != tc.body {
			t.Errorf("%+v: got %d %q, want %d %q", tc.fault, resp.StatusCode, body, tc.fault.Status, tc.body)
		}
		if ct := resp.Header.Get("Content-Type"); ct != "text/plain; charset=utf-8" {
			t.Errorf("%+v: Content-Type %q", tc.fault, ct)
		}
		for k := range resp.Header {
			if strings.HasPrefix(k, "X-Authgear-") {
				t.Errorf("%+v: an error answer carries identity header %s", tc.fault, k)
			}
		}
	}
}

func TestFaultHang(t *testing.T) {
	r, srv := faultServer(t)
	r.SetFault(standin.Fault{Mode: standin.ModeHang})

	start := time.Now()
	if _, _, err := get(newClient(80*time.Millisecond), srv.URL, ""); err == nil {
		t.Fatal("hang: want a client timeout, got an answer")
	}
	if d := time.Since(start); d < 80*time.Millisecond {
		t.Errorf("hang ended after %v, before the client gave up", d)
	}

	// Close releases a hanging request: the client sees the connection end.
	done := make(chan error, 1)
	go func() {
		_, _, err := get(newClient(10*time.Second), srv.URL, "")
		done <- err
	}()
	waitCalls(t, r, 2)
	r.Close()
	select {
	case err := <-done:
		if err == nil {
			t.Error("hang released by Close: want a connection error, got an answer")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Close did not release the hanging request")
	}
}

func waitCalls(t *testing.T, r *standin.Resolver, n int64) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for r.Calls() < n {
		if time.Now().After(deadline) {
			t.Fatalf("Calls = %d, want %d", r.Calls(), n)
		}
		time.Sleep(time.Millisecond)
	}
}

func TestFaultConnectionModes(t *testing.T) {
	for _, mode := range []string{standin.ModeClose, standin.ModeReset} {
		t.Run(mode, func(t *testing.T) {
			r, srv := faultServer(t)
			r.SetFault(standin.Fault{Mode: mode})
			resp, _, err := get(newClient(5*time.Second), srv.URL, "session=alice-session")
			if err == nil {
				t.Fatalf("%s: want a transport error, got %d %v", mode, resp.StatusCode, resp.Header)
			}
			if r.Calls() != 1 {
				t.Errorf("Calls = %d, want 1", r.Calls())
			}
			r.SetFault(standin.Fault{})
			if _, _, err := get(newClient(5*time.Second), srv.URL, ""); err != nil {
				t.Errorf("after clearing %s: %v", mode, err)
			}
		})
	}
}

func TestFaultHugeHeader(t *testing.T) {
	r, srv := faultServer(t)
	r.SetFault(standin.Fault{Mode: standin.ModeHugeHeader})
	resp, body, err := get(newClient(5*time.Second), srv.URL, "session=alice-session")
	if err != nil {
		t.Fatal(err)
	}
	if n := len(resp.Header.Get("X-Authgear-Padding")); n != standin.HugeHeaderSize {
		t.Errorf("X-Authgear-Padding is %d bytes, want %d", n, standin.HugeHeaderSize)
	}
	if resp.StatusCode != 200 || body != "" || resp.Header.Get("X-Authgear-User-Id") != aliceID {
		t.Errorf("huge-header answer: %d %q, user %q", resp.StatusCode, body, resp.Header.Get("X-Authgear-User-Id"))
	}

	limited := &http.Client{Transport: &http.Transport{DisableKeepAlives: true, MaxResponseHeaderBytes: 64 << 10}}
	if _, _, err := get(limited, srv.URL, ""); err == nil {
		t.Error("a client limiting response headers to 64 KiB accepted the answer")
	}
}

// Outside a server that can hijack (a ResponseRecorder, HTTP/2), connection
// faults abort the handler the way net/http expects.
func TestFaultAbortWithoutHijacker(t *testing.T) {
	for _, mode := range []string{standin.ModeClose, standin.ModeReset} {
		r := standin.New(loadUsers(t))
		r.SetFault(standin.Fault{Mode: mode})
		func() {
			defer func() {
				if p := recover(); !errors.Is(asError(p), http.ErrAbortHandler) {
					t.Errorf("%s: panic %v, want http.ErrAbortHandler", mode, p)
				}
			}()
			resolveWith(r, "")
		}()
	}
}

func asError(p any) error {
	err, _ := p.(error)
	return err
}

func TestFaultString(t *testing.T) {
	f := standin.Fault{Latency: 20 * time.Millisecond, Status: 500, Mode: standin.ModeHang}
	if got := f.String(); got != "latency=20ms&mode=hang&status=500" {
		t.Errorf("String() = %q", got)
	}
	if got := (standin.Fault{}).String(); got != "" {
		t.Errorf("zero Fault String() = %q, want empty", got)
	}
}
