package standin_test

import (
	"bufio"
	"io"
	"net/http"
	"net/http/httptest"
	"net/textproto"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/traefik-authgear/traefik-authgear/harness/internal/standin"
)

// The fixtures in ../../testdata/fixtures/resolver/*.http were recorded from a real Authgear server
// whose public origin was 127.0.0.1:23000 and whose resolver listened on
// 127.0.0.1:23001 (see that folder's README.md).
const (
	fixturePublicHost   = "127.0.0.1:23000"
	fixtureResolverHost = "127.0.0.1:23001"
	fixtureUserID       = "05442258-c3ab-4306-ac99-b347da1fc855"
)

// fixtureConfig is the recorded app: one user (bob's id) with the roles in the
// order the recording shows them, so roles compare exactly.
func fixtureConfig() standin.Config {
	return standin.Config{
		PublicHost: fixturePublicHost,
		Users: []standin.User{{
			ID:              fixtureUserID,
			Sessions:        []string{"bob-session"},
			BearerTokens:    []string{"bob-token"},
			Roles:           []string{"editor", "admin"},
			AuthenticatedAt: 1795920688,
		}},
	}
}

// fixtureRequest is the request that produced a fixture, per testdata/README.md.
type fixtureRequest struct {
	method string
	path   string
	host   string            // Host header; the resolver's own address when empty
	header map[string]string // extra request headers
}

var fixtureRequests = map[string]fixtureRequest{
	"no-credentials":                    {},
	"head-no-credentials":               {method: http.MethodHead},
	"session-valid-roles":               {header: map[string]string{"Cookie": "session=bob-session"}},
	"session-unknown":                   {header: map[string]string{"Cookie": "session=bogus.value"}},
	"bearer-invalid":                    {header: map[string]string{"Authorization": "Bearer x"}},
	"bearer-valid-internal-host":        {header: map[string]string{"Authorization": "Bearer bob-token"}},
	"bearer-valid-public-host":          {host: fixturePublicHost, header: map[string]string{"Authorization": "Bearer bob-token"}},
	"bearer-valid-forwarded-host":       {header: map[string]string{"Authorization": "Bearer bob-token", "X-Forwarded-Host": fixturePublicHost}},
	"bearer-valid-wrong-forwarded-host": {host: fixturePublicHost, header: map[string]string{"Authorization": "Bearer bob-token", "X-Forwarded-Host": "api.example.com"}},
	"bearer-valid-plus-bogus-session":   {host: fixturePublicHost, header: map[string]string{"Authorization": "Bearer bob-token", "Cookie": "session=bogus.value"}},
	"wrong-forwarded-host":              {header: map[string]string{"Cookie": "session=bob-session", "X-Forwarded-Host": "api.example.com"}},
	"post-method":                       {method: http.MethodPost},
	"trailing-slash":                    {path: standin.PathResolve + "/"},
}

// ignoredFixtureHeaders were left out of the recordings or vary per answer.
var ignoredFixtureHeaders = map[string]bool{"Date": true, "Permissions-Policy": true}

type fixture struct {
	status        int
	header        http.Header
	contentLength int // -1 when the fixture has no Content-Length
}

func readFixture(t *testing.T, path string) fixture {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatalf("open fixture: %v", err)
	}
	defer f.Close()
	tp := textproto.NewReader(bufio.NewReader(f))
	line, err := tp.ReadLine()
	if err != nil {
		t.Fatalf("%s: read status line: %v", path, err)
	}
	proto, rest, _ := strings.Cut(line, " ")
	code, _, _ := strings.Cut(rest, " ")
	status, err := strconv.Atoi(code)
	if proto != "HTTP/1.1" || err != nil {
		t.Fatalf("%s: status line %q is not \"HTTP/1.1 <code> <text>\"", path, line)
	}
	mime, err := tp.ReadMIMEHeader()
	if err != nil && err != io.EOF {
		t.Fatalf("%s: read headers: %v", path, err)
	}
	fx := fixture{status: status, header: http.Header(mime), contentLength: -1}
	if cl := fx.header.Get("Content-Length"); cl != "" {
		if fx.contentLength, err = strconv.Atoi(cl); err != nil {
			t.Fatalf("%s: Content-Length %q is not a number", path, cl)
		}
	}
	return fx
}

// TestFixtures sends each recorded request to the stand-in over a real
// connection and requires the very same status, header set (names and values,
// Content-Length included) and body length as the recording.
// fixtureDir holds the answers recorded from a real Authgear server.
const fixtureDir = "../../../testdata/fixtures/resolver"

func TestFixtures(t *testing.T) {
	files, err := filepath.Glob(fixtureDir + "/*.http")
	if err != nil || len(files) == 0 {
		t.Fatalf("no fixtures in "+fixtureDir+" (err %v)", err)
	}
	seen := map[string]bool{}
	for _, f := range files {
		seen[strings.TrimSuffix(filepath.Base(f), ".http")] = true
	}
	for name := range fixtureRequests {
		if !seen[name] {
			t.Errorf("fixtureRequests[%q] has no %s/%s.http", name, fixtureDir, name)
		}
	}

	srv := httptest.NewServer(standin.New(fixtureConfig()))
	defer srv.Close()
	client := srv.Client()
	client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }

	for _, file := range files {
		name := strings.TrimSuffix(filepath.Base(file), ".http")
		t.Run(name, func(t *testing.T) {
			fr, ok := fixtureRequests[name]
			if !ok {
				t.Fatalf("no request for fixture %s: add it to fixtureRequests as testdata/README.md describes it", file)
			}
			want := readFixture(t, file)
			resp := doFixtureRequest(t, client, srv.URL, fr)
			body, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			if err != nil {
				t.Fatalf("read body: %v", err)
			}
			if resp.StatusCode != want.status {
				t.Errorf("status = %d, fixture has %d", resp.StatusCode, want.status)
			}
			compareHeaders(t, resp.Header, want.header)
			wantLen := want.contentLength
			if wantLen < 0 {
				wantLen = 0
			}
			if len(body) != wantLen {
				t.Errorf("body is %d bytes (%q), fixture says %d", len(body), body, wantLen)
			}
		})
	}
}

func doFixtureRequest(t *testing.T, client *http.Client, base string, fr fixtureRequest) *http.Response {
	t.Helper()
	method, path, host := fr.method, fr.path, fr.host
	if method == "" {
		method = http.MethodGet
	}
	if path == "" {
		path = standin.PathResolve
	}
	if host == "" {
		host = fixtureResolverHost
	}
	req, err := http.NewRequest(method, base+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Host = host
	for k, v := range fr.header {
		req.Header.Set(k, v)
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	return resp
}

// compareHeaders requires got and want to hold the same headers with the same
// values, ignoring ignoredFixtureHeaders.
func compareHeaders(t *testing.T, got, want http.Header) {
	t.Helper()
	keys := map[string]bool{}
	for k := range got {
		keys[k] = true
	}
	for k := range want {
		keys[k] = true
	}
	sorted := make([]string, 0, len(keys))
	for k := range keys {
		if !ignoredFixtureHeaders[k] {
			sorted = append(sorted, k)
		}
	}
	sort.Strings(sorted)
	for _, k := range sorted {
		g, w := got[k], want[k]
		switch {
		case g == nil:
			t.Errorf("missing header %s: %q", k, w)
		case w == nil:
			t.Errorf("unexpected header %s: %q", k, g)
		case strings.Join(g, "\x00") != strings.Join(w, "\x00"):
			t.Errorf("header %s = %q, want %q", k, g, w)
		}
	}
}
