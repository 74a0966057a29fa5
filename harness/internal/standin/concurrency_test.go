package standin_test

import (
	"net/http"
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
	creds := []struct {
		header, id, verified string
	}{
		{"Authorization: Bearer alice-token", aliceID, "true"},
		{"Cookie: app_session=bob-app-session", bobID, "false"},
		{"Cookie: session=carol-session", carolID, "true"},
		{"Authorization: Bearer anon-token", anonID, "false"},
	}
	const workers, perWorker = 16, 300
	stop := make(chan struct{})
	var mutators, wg sync.WaitGroup
	mutators.Go(func() {
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			r.SetUsers(cfg.Users)
			r.SetFault(standin.Fault{Mode: []string{standin.ModeNormal, standin.ModeHugeHeader}[i%2]})
			_, _, _ = r.Users(), r.LastRequest(), r.CurrentFault()
			serve(r, call{target: standin.ControlPrefix + "calls"})
		}
	})
	errs := make(chan string, workers)
	for w := range workers {
		wg.Go(func() {
			for i := range perWorker {
				c := creds[(w+i)%len(creds)]
				rec := serve(r, call{header: c.header})
				if h := rec.Header(); rec.Code != 200 || h.Get("X-Authgear-User-Id") != c.id || h.Get("X-Authgear-User-Verified") != c.verified {
					errs <- "answer for " + c.id + " was " + h.Get("X-Authgear-User-Id")
					return
				}
			}
		})
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
	for _, c := range []struct{ name, header string }{
		{"bearer", "Authorization: Bearer alice-token"},
		{"session", "Cookie: theme=dark; session=alice-session"},
		{"none", ""},
	} {
		b.Run(c.name, func(b *testing.B) {
			req, w := call{header: c.header}.request(""), &discardWriter{}
			b.ReportAllocs()
			for b.Loop() {
				w.h = http.Header{}
				r.ServeHTTP(w, req)
			}
		})
	}
}
