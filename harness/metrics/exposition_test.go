// Package metrics checks the plugin's metrics exposition with Prometheus'
// own text parser, the one a Prometheus server scrapes it with.
package metrics

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	authgear "github.com/traefik-authgear/traefik-authgear"
	"github.com/traefik-authgear/traefik-authgear/harness/internal/standin"
)

func TestExpositionParsesAsPrometheusText(t *testing.T) {
	resolver := standin.New(standin.Config{PublicHost: "auth.example.test", Users: []standin.User{
		{ID: "u1", BearerTokens: []string{"t1"}, AMR: "pwd"},
	}})
	srv := httptest.NewServer(resolver)
	t.Cleanup(srv.Close)
	cfg := authgear.CreateConfig()
	cfg.ResolverURL = srv.URL + "/_resolver/resolve"
	cfg.ResolverHost = "https://auth.example.test"
	cfg.MetricsPath = "/metrics"
	h, err := authgear.New(context.Background(), http.NotFoundHandler(), cfg, "exposition@file")
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 3; i++ {
		req := httptest.NewRequest(http.MethodGet, "http://api.example.test/", nil)
		req.Header.Set("Authorization", "Bearer t1")
		h.ServeHTTP(httptest.NewRecorder(), req)
	}
	req := httptest.NewRequest(http.MethodGet, "http://api.example.test/metrics", nil)
	req.RemoteAddr = "127.0.0.1:9999"
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	if w.Code != 200 || !strings.HasPrefix(w.Header().Get("Content-Type"), "text/plain; version=0.0.4") {
		t.Fatalf("scrape: %d %q", w.Code, w.Header().Get("Content-Type"))
	}
	parser := expfmt.NewTextParser(model.LegacyValidation)
	families, err := parser.TextToMetricFamilies(strings.NewReader(w.Body.String()))
	if err != nil {
		t.Fatalf("Prometheus' parser refuses the exposition: %v\n%s", err, w.Body.String())
	}
	value := func(family, label, want string) float64 {
		t.Helper()
		f := families[family]
		if f == nil {
			t.Fatalf("no family %s", family)
		}
		for _, m := range f.GetMetric() {
			ours, match := false, label == ""
			for _, l := range m.GetLabel() {
				if l.GetName() == "middleware" && l.GetValue() == "exposition@file" {
					ours = true
				}
				if l.GetName() == label && l.GetValue() == want {
					match = true
				}
			}
			if ours && match {
				if c := m.GetCounter(); c != nil {
					return c.GetValue()
				}
				if g := m.GetGauge(); g != nil {
					return g.GetValue()
				}
				if hi := m.GetHistogram(); hi != nil {
					return float64(hi.GetSampleCount())
				}
			}
		}
		t.Fatalf("no %s{%s=%q} for this middleware", family, label, want)
		return 0
	}
	if v := value("authgear_requests_total", "outcome", "cache_hit"); v != 2 {
		t.Errorf("cache hits %v, want 2", v)
	}
	if v := value("authgear_requests_total", "outcome", "cache_miss"); v != 1 {
		t.Errorf("cache misses %v, want 1", v)
	}
	if v := value("authgear_resolver_call_duration_seconds", "", ""); v != 1 {
		t.Errorf("histogram count %v, want 1", v)
	}
	if v := value("authgear_cache_entries", "", ""); v != 1 {
		t.Errorf("cache entries %v, want 1", v)
	}
	for name, kind := range map[string]string{
		"authgear_requests_total": "COUNTER", "authgear_resolver_call_duration_seconds": "HISTOGRAM", "authgear_cache_entries": "GAUGE",
	} {
		if got := families[name].GetType().String(); got != kind {
			t.Errorf("%s is a %s, want %s", name, got, kind)
		}
	}
}
