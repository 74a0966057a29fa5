package standin_test

import (
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/traefik-authgear/traefik-authgear/harness/internal/standin"
)

// TestConcurrentUse resolves from many goroutines while users, faults and the
// counter change underneath; run with -race. Every answer must be a whole
// answer for one known user, never a mix.
func TestConcurrentUse(t *testing.T) {
	cfg := loadUsers(t)
	r := standin.New(cfg)
	creds := []struct{ auth, cookie, id string }{
		{"Bearer alice-token", "", aliceID},
		{"", "app_session=bob-app-session", bobID},
		{"", "session=carol-session", carolID},
		{"Bearer anon-token", "", anonID},
	}
	valid := map[string]string{aliceID: "true", bobID: "false", carolID: "true", anonID: "false"}

	const workers, perWorker = 16, 300
	stop := make(chan struct{})
	var mutators sync.WaitGroup
	mutators.Add(1)
	go func() {
		defer mutators.Done()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			r.SetUsers(cfg.Users)
			r.SetFault(standin.Fault{Mode: []string{standin.ModeNormal, standin.ModeHugeHeader}[i%2]})
			_ = r.Users()
			_ = r.LastRequest()
			_ = r.CurrentFault()
			ctl := httptest.NewRecorder()
			r.ServeHTTP(ctl, httptest.NewRequest(http.MethodGet, "/_standin/calls", nil))
		}
	}()

	var wg sync.WaitGroup
	errs := make(chan string, workers)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := 0; i < perWorker; i++ {
				c := creds[(w+i)%len(creds)]
				req := httptest.NewRequest(http.MethodGet, standin.PathResolve, nil)
				req.Host = publicHost
				if c.auth != "" {
					req.Header.Set("Authorization", c.auth)
				}
				if c.cookie != "" {
					req.Header.Set("Cookie", c.cookie)
				}
				rec := httptest.NewRecorder()
				r.ServeHTTP(rec, req)
				h := rec.Header()
				if rec.Code != 200 || h.Get("X-Authgear-User-Id") != c.id || h.Get("X-Authgear-User-Verified") != valid[c.id] {
					errs <- "answer for " + c.id + " was " + h.Get("X-Authgear-User-Id")
					return
				}
			}
		}(w)
	}
	wg.Wait()
	close(stop)
	mutators.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
	if got := r.Calls(); got != workers*perWorker {
		t.Errorf("Calls = %d, want %d", got, workers*perWorker)
	}
}

// discardWriter is the cheapest ResponseWriter, so the benchmark measures the
// stand-in and not the recorder.
type discardWriter struct{ h http.Header }

func (d *discardWriter) Header() http.Header         { return d.h }
func (d *discardWriter) Write(b []byte) (int, error) { return len(b), nil }
func (d *discardWriter) WriteHeader(int)             {}

func BenchmarkResolve(b *testing.B) {
	r := standin.New(loadUsers(b))
	cases := []struct{ name, auth, cookie string }{
		{"bearer", "Bearer alice-token", ""},
		{"session", "", "theme=dark; session=alice-session"},
		{"none", "", ""},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			req := httptest.NewRequest(http.MethodGet, standin.PathResolve, nil)
			req.Host = publicHost
			if c.auth != "" {
				req.Header.Set("Authorization", c.auth)
			}
			if c.cookie != "" {
				req.Header.Set("Cookie", c.cookie)
			}
			w := &discardWriter{}
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				w.h = http.Header{}
				r.ServeHTTP(w, req)
			}
		})
	}
}
