package standin_test

import (
	"bufio"
	"cmp"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/traefik-authgear/traefik-authgear/harness/internal/standin"
)

// The fixtures in fixtureDir were recorded from a real Authgear server whose
// public origin was 127.0.0.1:23000 and whose resolver listened on
// 127.0.0.1:23001 (see that folder's README.md).
const (
	fixtureDir          = "../../../testdata/fixtures/resolver"
	fixturePublicHost   = "127.0.0.1:23000"
	fixtureResolverHost = "127.0.0.1:23001"
)

// fixtureRequests are the requests that produced the fixtures, as the
// README describes them (Host: the resolver's own address unless said).
var fixtureRequests = map[string]call{
	"no-credentials":                    {},
	"head-no-credentials":               {method: http.MethodHead},
	"session-valid-roles":               {header: "Cookie: session=bob-session"},
	"session-unknown":                   {header: "Cookie: session=bogus.value"},
	"bearer-invalid":                    {header: "Authorization: Bearer x"},
	"bearer-valid-internal-host":        {header: "Authorization: Bearer bob-token"},
	"bearer-valid-public-host":          {host: fixturePublicHost, header: "Authorization: Bearer bob-token"},
	"bearer-valid-forwarded-host":       {header: "Authorization: Bearer bob-token\nX-Forwarded-Host: " + fixturePublicHost},
	"bearer-valid-wrong-forwarded-host": {host: fixturePublicHost, header: "Authorization: Bearer bob-token\nX-Forwarded-Host: api.example.com"},
	"bearer-valid-plus-bogus-session":   {host: fixturePublicHost, header: "Authorization: Bearer bob-token\nCookie: session=bogus.value"},
	"wrong-forwarded-host":              {header: "Cookie: session=bob-session\nX-Forwarded-Host: api.example.com"},
	"post-method":                       {method: http.MethodPost},
	"trailing-slash":                    {target: standin.PathResolve + "/"},
}

// TestFixtures sends each recorded request to the stand-in over a real
// connection and requires the very same status, header set (Content-Length
// included) and body length as the recording. The recorded app has one user
// (bob's id), with the roles in the recording's order.
func TestFixtures(t *testing.T) {
	files, _ := filepath.Glob(fixtureDir + "/*.http")
	if len(files) != len(fixtureRequests) {
		t.Errorf("%d fixtures in %s, %d requests for them", len(files), fixtureDir, len(fixtureRequests))
	}
	srv := httptest.NewServer(standin.New(standin.Config{PublicHost: fixturePublicHost, Users: []standin.User{{
		ID: bobID, Sessions: []string{"bob-session"}, BearerTokens: []string{"bob-token"}, Roles: []string{"editor", "admin"}, AuthenticatedAt: 1795920688,
	}}}))
	defer srv.Close()
	client := srv.Client()
	client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	for _, file := range files {
		name := strings.TrimSuffix(filepath.Base(file), ".http")
		t.Run(name, func(t *testing.T) {
			c, ok := fixtureRequests[name]
			if !ok {
				t.Fatalf("no request for %s: add it to fixtureRequests as the README describes it", file)
			}
			f, err := os.Open(file)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			want, err := http.ReadResponse(bufio.NewReader(f), nil)
			if err != nil {
				t.Fatalf("%s: %v", file, err)
			}
			c.host = cmp.Or(c.host, fixtureResolverHost)
			resp, body, err := send(client, srv.URL, c)
			if err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != want.StatusCode || len(body) != int(max(want.ContentLength, 0)) {
				t.Errorf("%d with a %d-byte body %q, fixture has %d and Content-Length %d", resp.StatusCode, len(body), body, want.StatusCode, want.ContentLength)
			}
			if !sameHeaders(resp.Header, want.Header) {
				t.Errorf("header\n%v\nwant\n%v", resp.Header, want.Header)
			}
		})
	}
}
