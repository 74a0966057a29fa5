package authgear_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	authgear "github.com/traefik-authgear/traefik-authgear"
)

// scrape fetches metricsPath from the address remote.
func scrape(h http.Handler, remote string) (int, string) {
	req := httptest.NewRequest(http.MethodGet, "http://api.example.test/_authgear/metrics", nil)
	req.RemoteAddr = remote
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	body, _ := io.ReadAll(w.Result().Body)
	return w.Code, string(body)
}

func TestMetricsCountWhatUsersNotice(t *testing.T) {
	f := newFakeResolver(t)
	h, rec := newHandler(t, f, func(c *authgear.Config) {
		c.MetricsPath = "/_authgear/metrics"
		c.AllowedRoles = []string{"admin"}
		withWebhook(c)
	})
	do(t, h, rec, request{header: bearer("alice")}) // miss
	do(t, h, rec, request{header: bearer("alice")}) // hit
	do(t, h, rec, request{header: bearer("bob")})   // miss, 403
	do(t, h, rec, request{})                        // no credential, 401
	postWebhook(h, http.MethodPost, "/_authgear/webhook", "bogus", []byte(`{}`))

	status, body := scrape(h, "127.0.0.1:5555")
	if status != 200 {
		t.Fatalf("metrics from loopback: %d", status)
	}
	name := `middleware="` + t.Name() + `"`
	for _, want := range []string{
		`authgear_requests_total{` + name + `,outcome="cache_hit"} 1`,
		`authgear_requests_total{` + name + `,outcome="cache_miss"} 2`,
		`authgear_requests_total{` + name + `,outcome="forbidden"} 1`,
		`authgear_requests_total{` + name + `,outcome="unauthorized"} 1`,
		`authgear_resolver_calls_total{` + name + `,result="ok"} 2`,
		`authgear_resolver_call_duration_seconds_count{` + name + `} 2`,
		`authgear_cache_entries{` + name + `} 2`,
		`authgear_webhook_deliveries_total{` + name + `,result="refused"} 1`,
	} {
		if !strings.Contains(body, want+"\n") {
			t.Errorf("metrics lack %q", want)
		}
	}
	if status, _ := scrape(h, "203.0.113.9:5555"); status != http.StatusForbidden {
		t.Fatalf("metrics from a public address: %d, want 403", status)
	}
}

func TestMetricsAllowedIPs(t *testing.T) {
	f := newFakeResolver(t)
	h, _ := newHandler(t, f, func(c *authgear.Config) {
		c.MetricsPath = "/_authgear/metrics"
		c.MetricsAllowedIPs = []string{"10.0.0.0/8, 192.0.2.7"}
	})
	for _, tt := range []struct {
		remote string
		want   int
	}{
		{"10.1.2.3:1", 200}, {"192.0.2.7:1", 200}, {"192.0.2.8:1", 403}, {"127.0.0.1:1", 403},
	} {
		if status, _ := scrape(h, tt.remote); status != tt.want {
			t.Errorf("metrics from %s: %d, want %d", tt.remote, status, tt.want)
		}
	}
}
