package authgear_test

import (
	"encoding/pem"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"

	authgear "github.com/traefik-authgear/traefik-authgear"
)

func TestResolverConnectionsAreReused(t *testing.T) {
	f := newFakeResolver(t)
	h, rec := newHandler(t, f, func(c *authgear.Config) { c.CacheTTL = "0" })
	for i := 0; i < 5; i++ {
		_, s := do(t, h, rec, request{header: bearer("alice")})
		assertUser(t, s, "alice")
	}
	if f.calls.Load() != 5 {
		t.Fatalf("resolver calls = %d, want 5", f.calls.Load())
	}
	conns := map[string]bool{}
	f.mu.Lock()
	for _, r := range f.requests {
		conns[r.remote] = true
	}
	f.mu.Unlock()
	if len(conns) != 1 {
		t.Fatalf("%d connections for 5 sequential resolver calls, want 1 (keep-alive)", len(conns))
	}
}

func TestResolverOverTLS(t *testing.T) {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Authgear-Session-Valid", "true")
		w.Header().Set("X-Authgear-User-Id", "id-tls")
	}))
	t.Cleanup(func() { srv.Close() })
	caPEM := string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}))
	caFile := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(caFile, []byte(caPEM), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name       string
		tls        authgear.TLSConfig
		wantStatus int
	}{
		{"unknown CA refused", authgear.TLSConfig{}, http.StatusBadGateway},
		{"inline PEM CA", authgear.TLSConfig{CA: caPEM}, http.StatusOK},
		{"CA file", authgear.TLSConfig{CA: caFile}, http.StatusOK},
		{"insecureSkipVerify", authgear.TLSConfig{InsecureSkipVerify: true}, http.StatusOK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, rec := newHandler(t, nil, func(c *authgear.Config) {
				c.ResolverURL = srv.URL + "/_resolver/resolve"
				c.TLS = tt.tls
			})
			resp, s := do(t, h, rec, request{header: bearer("alice")})
			if resp.StatusCode != tt.wantStatus {
				t.Fatalf("status %d, want %d", resp.StatusCode, tt.wantStatus)
			}
			if tt.wantStatus == http.StatusOK && s.identity["x-authgear-user-id"] != "id-tls" {
				t.Fatalf("backend saw %v, want id-tls", s.identity)
			}
		})
	}
}
