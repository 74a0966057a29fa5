package echo_test

import (
	"bufio"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/traefik-authgear/traefik-authgear/harness/internal/echo"
)

type event struct {
	data string
	at   time.Duration // since the request was sent
}

// readEvents reads the whole stream and notes when each event arrived.
func readEvents(t *testing.T, url string, header http.Header) []event {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	req.Header = header
	start := time.Now()
	resp, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); resp.StatusCode != 200 || ct != "text/event-stream" {
		t.Fatalf("answer %d %q, want 200 text/event-stream", resp.StatusCode, ct)
	}
	var events []event
	for sc := bufio.NewScanner(resp.Body); sc.Scan(); {
		if data, ok := strings.CutPrefix(sc.Text(), "data: "); ok {
			events = append(events, event{data, time.Since(start)})
		}
	}
	return events
}

// TestSSE reads the default stream directly and through a reverse proxy
// that sets the identity: the user's event, then 1 to 5, streamed.
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
		base   string
		header http.Header
		user   string
	}{
		{backend.URL, http.Header{"X-Authgear-User-Id": {"u1"}}, "u1"},
		{proxy.URL, http.Header{}, "alice"},
	} {
		events := readEvents(t, tc.base+echo.PathSSE, tc.header)
		var got []string
		for _, e := range events {
			got = append(got, e.data)
		}
		if want := []string{"user=" + tc.user, "1", "2", "3", "4", "5"}; strings.Join(got, "|") != strings.Join(want, "|") {
			t.Fatalf("events %q, want %q", got, want)
		}
		// Streamed, not buffered: the first event comes well before the
		// last, which cannot come before 5 intervals.
		first, last := events[0].at, events[len(events)-1].at
		if last < 5*echo.SSEInterval || last-first < 2*echo.SSEInterval {
			t.Errorf("first event at %v, last at %v: want the last after %v, and the stream not buffered", first, last, 5*echo.SSEInterval)
		}
	}
}

func TestSSEParams(t *testing.T) {
	srv := httptest.NewServer(echo.Handler())
	defer srv.Close()
	events := readEvents(t, srv.URL+echo.PathSSE+"?count=2&interval=1ms", http.Header{})
	if len(events) != 3 || events[0].data != "user=" || events[2].data != "2" {
		t.Errorf("count=2: events %+v, want user=, 1, 2", events)
	}
	for _, q := range []string{"count=-1", "count=x", "interval=0s", "interval=soon"} {
		resp, err := http.Get(srv.URL + echo.PathSSE + "?" + q)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest {
			t.Errorf("%s: status %d, want 400", q, resp.StatusCode)
		}
	}
}
