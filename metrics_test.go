package authgear_test

import (
	"strings"
	"testing"

	authgear "github.com/traefik-authgear/traefik-authgear"
)

func TestMetricsCountWhatUsersNotice(t *testing.T) {
	_, h, rec := newHandler(t, func(c *authgear.Config) {
		withMetrics(c)
		withWebhook(c)
		c.AllowedRoles = []string{"admin"}
	})
	do(h, rec, request{header: bearer("alice")}) // miss
	do(h, rec, request{header: bearer("alice")}) // hit
	do(h, rec, request{header: bearer("bob")})   // miss, 403
	do(h, rec, request{})                        // no credential, 401
	postWebhook(h, "bogus", []byte(`{}`))

	_, body := scrape(h, "127.0.0.1:5555")
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
}

func TestMetricsAllowedIPs(t *testing.T) {
	f := newFakeResolver(t)
	for _, tt := range []struct {
		allowed []string // metricsAllowedIPs; loopback only when nil
		remote  string
		want    int
	}{
		{nil, "127.0.0.1:5555", 200}, {nil, "203.0.113.9:5555", 403},
		{[]string{"10.0.0.0/8, 192.0.2.7"}, "10.1.2.3:1", 200},
		{[]string{"10.0.0.0/8, 192.0.2.7"}, "192.0.2.7:1", 200},
		{[]string{"10.0.0.0/8, 192.0.2.7"}, "192.0.2.8:1", 403},
		{[]string{"10.0.0.0/8, 192.0.2.7"}, "127.0.0.1:1", 403},
	} {
		h, _ := newNamed(t, f, t.Name(), func(c *authgear.Config) { withMetrics(c); c.MetricsAllowedIPs = tt.allowed })
		if status, _ := scrape(h, tt.remote); status != tt.want {
			t.Errorf("metrics allowing %v from %s: %d, want %d", tt.allowed, tt.remote, status, tt.want)
		}
	}
}
