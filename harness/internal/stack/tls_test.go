package stack

import (
	"crypto/tls"
	"crypto/x509"
	"net/http"
	"strings"
	"testing"

	"github.com/traefik-authgear/traefik-authgear/harness/internal/standin"
)

// TestTLSResolverSpeaksHTTP2WithItsHeaderLimit: a client that trusts only
// CertPEM reaches the TLS stand-in over HTTP/2, and Go's HTTP/2 client
// refuses, before sending, a request past the header list size the
// stand-in advertises for its MaxHeaderBytes (plus ten fields' overhead).
func TestTLSResolverSpeaksHTTP2WithItsHeaderLimit(t *testing.T) {
	const maxHeaderBytes = 4 << 10
	cfg, err := Users()
	if err != nil {
		t.Fatal(err)
	}
	r, err := startTLSResolver(cfg, TLSResolver{MaxHeaderBytes: maxHeaderBytes})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM([]byte(r.CertPEM)) {
		t.Fatalf("CertPEM holds no certificate: %q", r.CertPEM)
	}
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots}, ForceAttemptHTTP2: true}}
	defer client.CloseIdleConnections()

	for _, tc := range []struct {
		name    string
		padding int // bytes of an extra header's value
		refused bool
	}{
		{"well under the limit", 100, false},
		{"past the limit", maxHeaderBytes + 10*32, true},
		{"under the limit again (the connection is still usable)", 100, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			calls := r.Calls()
			req, _ := http.NewRequest(http.MethodGet, r.URL, nil)
			req.Host = r.PublicHost
			req.Header.Set("Cookie", "session=alice-session")
			req.Header.Set("X-Padding", strings.Repeat("p", tc.padding))
			resp, err := client.Do(req)
			if tc.refused {
				if err == nil || !strings.Contains(err.Error(), "larger than peer's advertised limit") {
					t.Fatalf("err = %v, want Go's HTTP/2 header list limit error", err)
				}
				if r.Calls() != calls {
					t.Error("the refused request reached the stand-in")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.ProtoMajor != 2 || resp.Header.Get("X-Authgear-Session-Valid") != "true" {
				t.Errorf("got %s, session valid %q: want HTTP/2 and a valid session", resp.Proto, resp.Header.Get("X-Authgear-Session-Valid"))
			}
		})
	}
	if !strings.HasPrefix(r.URL, "https://127.0.0.1:") || !strings.HasSuffix(r.URL, standin.PathResolve) {
		t.Errorf("URL %q: want https://127.0.0.1:<port>%s", r.URL, standin.PathResolve)
	}
}
