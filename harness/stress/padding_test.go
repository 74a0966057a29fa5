package main

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
)

// TestH2HeaderListSizeIsWhatGosClientCounts: a request that h2HeaderListSize
// (computed on what the server received) puts one byte under an HTTP/2
// server's advertised limit is sent, one byte over is refused by Go's
// client before sending; the padding part calibrates its attack with it.
func TestH2HeaderListSizeIsWhatGosClientCounts(t *testing.T) {
	var last atomic.Pointer[http.Request]
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		last.Store(r.Clone(r.Context()))
	}))
	srv.EnableHTTP2 = true
	srv.Config.MaxHeaderBytes = 4 << 10
	srv.StartTLS()
	defer srv.Close()
	limit := srv.Config.MaxHeaderBytes + 10*32 // what Go's HTTP/2 server advertises

	send := func(padding int) error {
		req, _ := http.NewRequest(http.MethodGet, srv.URL+"/_resolver/resolve?x=1", nil)
		req.Host = "auth.example.test"
		req.Header = http.Header{"Cookie": {"session=alice-session; other=1"}, "Authorization": {"Bearer " + strings.Repeat("j", padding)},
			"User-Agent": {""}, "X-Forwarded-For": {"127.0.0.1"}}
		resp, err := srv.Client().Do(req)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("padding %d: status %d", padding, resp.StatusCode)
			}
		}
		return err
	}
	if err := send(10); err != nil {
		t.Fatal(err)
	}
	size := h2HeaderListSize(last.Load())
	for _, tc := range []struct {
		name    string
		size    int
		refused bool
	}{
		{"one byte under the limit", limit - 1, false},
		{"one byte over the limit", limit + 1, true},
	} {
		err := send(10 + tc.size - size)
		if refused := err != nil && strings.Contains(err.Error(), "larger than peer's advertised limit"); refused != tc.refused {
			t.Errorf("%s: error %v, want refused %v", tc.name, err, tc.refused)
		}
	}
}
