package standin_test

import (
	"errors"
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

// client never reuses connections, so a fault on one call cannot leak into
// the next.
func client(timeout time.Duration) *http.Client {
	return &http.Client{Timeout: timeout, Transport: &http.Transport{DisableKeepAlives: true}}
}

var alicesSession = call{header: "Cookie: session=alice-session"}

// TestFaults sends alice's session under each fault, then again once the
// fault is cleared, which must answer normally: two calls counted.
func TestFaults(t *testing.T) {
	for _, tc := range []struct {
		name    string
		fault   standin.Fault
		timeout time.Duration // the client's
		status  int           // 0: no answer (a transport error or the client's timeout)
		body    string
		least   time.Duration // the answer or failure comes no sooner
	}{
		{"latency", standin.Fault{Latency: 60 * time.Millisecond}, 5 * time.Second, 200, "", 60 * time.Millisecond},
		{"latency ends with the client", standin.Fault{Latency: time.Minute}, 50 * time.Millisecond, 0, "", 50 * time.Millisecond},
		{"500", standin.Fault{Status: 500}, 5 * time.Second, 500, "internal error\n", 0},
		{"503 after latency", standin.Fault{Status: 503, Latency: 10 * time.Millisecond}, 5 * time.Second, 503, "Service Unavailable\n", 10 * time.Millisecond},
		{"404", standin.Fault{Status: 404}, 5 * time.Second, 404, "Not Found\n", 0},
		{"hang", standin.Fault{Mode: standin.ModeHang}, 80 * time.Millisecond, 0, "", 80 * time.Millisecond},
		{"close", standin.Fault{Mode: standin.ModeClose}, 5 * time.Second, 0, "", 0},
		{"reset", standin.Fault{Mode: standin.ModeReset}, 5 * time.Second, 0, "", 0},
		{"huge header", standin.Fault{Mode: standin.ModeHugeHeader}, 5 * time.Second, 200, "", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, srv := faultServer(t)
			r.SetFault(tc.fault)
			began := time.Now()
			resp, body, err := send(client(tc.timeout), srv.URL, alicesSession)
			if d := time.Since(began); d < tc.least {
				t.Errorf("over after %v, want at least %v", d, tc.least)
			}
			switch {
			case tc.status == 0:
				if err == nil {
					t.Fatalf("want no answer, got %d %v", resp.StatusCode, resp.Header)
				}
			case err != nil:
				t.Fatal(err)
			case resp.StatusCode != tc.status || body != tc.body:
				t.Errorf("%d %q, want %d %q", resp.StatusCode, body, tc.status, tc.body)
			case tc.status == 200 && resp.Header.Get("X-Authgear-User-Id") != aliceID:
				t.Errorf("the fault changed the answer: %v", resp.Header)
			case tc.status != 200:
				for k := range resp.Header {
					if strings.HasPrefix(k, "X-Authgear-") {
						t.Errorf("an error answer carries identity header %s", k)
					}
				}
				if ct := resp.Header.Get("Content-Type"); ct != "text/plain; charset=utf-8" {
					t.Errorf("Content-Type %q", ct)
				}
			}
			if tc.fault.Mode == standin.ModeHugeHeader && err == nil && len(resp.Header.Get("X-Authgear-Padding")) != standin.HugeHeaderSize {
				t.Errorf("X-Authgear-Padding is not %d bytes", standin.HugeHeaderSize)
			}
			r.SetFault(standin.Fault{})
			if resp, _, err := send(client(5*time.Second), srv.URL, alicesSession); err != nil || resp.Header.Get("X-Authgear-User-Id") != aliceID {
				t.Errorf("after clearing the fault: %v", err)
			}
			if got := r.Calls(); got != 2 {
				t.Errorf("Calls = %d, want 2", got)
			}
		})
	}
}

func TestHugeHeaderFailsALimitedClient(t *testing.T) {
	r, srv := faultServer(t)
	r.SetFault(standin.Fault{Mode: standin.ModeHugeHeader})
	limited := &http.Client{Transport: &http.Transport{DisableKeepAlives: true, MaxResponseHeaderBytes: 64 << 10}}
	if _, _, err := send(limited, srv.URL, call{}); err == nil {
		t.Error("a client limiting response headers to 64 KiB accepted the answer")
	}
}

// TestCloseReleasesAHang: the client sees the connection end.
func TestCloseReleasesAHang(t *testing.T) {
	r, srv := faultServer(t)
	r.SetFault(standin.Fault{Mode: standin.ModeHang})
	done := make(chan error, 1)
	go func() {
		_, _, err := send(client(10*time.Second), srv.URL, call{})
		done <- err
	}()
	for deadline := time.Now().Add(5 * time.Second); r.Calls() == 0; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the request did not arrive")
		}
	}
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

// Outside a server that can hijack (a ResponseRecorder, HTTP/2), connection
// faults abort the handler the way net/http expects.
func TestFaultAbortWithoutHijacker(t *testing.T) {
	for _, mode := range []string{standin.ModeClose, standin.ModeReset} {
		r := standin.New(loadUsers(t))
		r.SetFault(standin.Fault{Mode: mode})
		func() {
			defer func() {
				if err, _ := recover().(error); !errors.Is(err, http.ErrAbortHandler) {
					t.Errorf("%s: panic %v, want http.ErrAbortHandler", mode, err)
				}
			}()
			serve(r, call{})
		}()
	}
}
