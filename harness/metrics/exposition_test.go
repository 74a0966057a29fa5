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
	"github.com/traefik-authgear/traefik-authgear/harness/internal/stack"
	"github.com/traefik-authgear/traefik-authgear/harness/internal/standin"
)

func TestExpositionParsesAsPrometheusText(t *testing.T) {
	resolver := standin.New(standin.Config{PublicHost: stack.PublicHost, Users: []standin.User{
		{ID: "u1", BearerTokens: []string{"t1"}, AMR: "pwd"},
	}})
	srv := httptest.NewServer(resolver)
	t.Cleanup(srv.Close)
	cfg := authgear.CreateConfig()
	cfg.ResolverURL = srv.URL + "/_resolver/resolve"
	cfg.ResolverHost = "https://" + stack.PublicHost
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
	// value is this middleware's sample in family with label=want.
	value := func(family, label, want string) float64 {
		t.Helper()
		for _, m := range families[family].GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			if labels["middleware"] == "exposition@file" && (label == "" || labels[label] == want) {
				return m.GetCounter().GetValue() + m.GetGauge().GetValue() + float64(m.GetHistogram().GetSampleCount())
			}
		}
		t.Fatalf("no %s{%s=%q} for this middleware", family, label, want)
		return 0
	}
	for _, c := range []struct {
		family, label, value, kind string
		want                       float64
	}{
		{"authgear_requests_total", "outcome", "cache_hit", "COUNTER", 2},
		{"authgear_requests_total", "outcome", "cache_miss", "COUNTER", 1},
		{"authgear_resolver_call_duration_seconds", "", "", "HISTOGRAM", 1},
		{"authgear_cache_entries", "", "", "GAUGE", 1},
	} {
		if got, kind := value(c.family, c.label, c.value), families[c.family].GetType().String(); got != c.want || kind != c.kind {
			t.Errorf("%s{%s=%q}: %v, a %s; want %v, a %s", c.family, c.label, c.value, got, kind, c.want, c.kind)
		}
	}
}
