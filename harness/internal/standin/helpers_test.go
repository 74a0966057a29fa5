package standin_test

import (
	"cmp"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/traefik-authgear/traefik-authgear/harness/internal/stack"
	"github.com/traefik-authgear/traefik-authgear/harness/internal/standin"
)

// The repository's users file, shared with the demo, and its users.
const (
	usersFile = "../../../testdata/users.json"
	aliceID   = "7b0f6c42-1a6e-4d0e-9c53-2c1f0f6f5b1e"
	bobID     = "05442258-c3ab-4306-ac99-b347da1fc855"
	carolID   = "3f2d9a57-8e41-4c6b-b0a2-6d5e1c9f7a83"
	anonID    = "c1e5a8d0-2b7f-4f39-9a64-0e8d3b5c7f12"
)

// loadUsers reads the users file, which must be for stack.PublicHost and
// without a cookie prefix.
func loadUsers(t testing.TB) standin.Config {
	t.Helper()
	cfg, err := standin.LoadConfig(usersFile)
	if err != nil || cfg.PublicHost != stack.PublicHost || cfg.CookiePrefix != "" {
		t.Fatalf("LoadConfig(%s) = host %q, prefix %q, %v", usersFile, cfg.PublicHost, cfg.CookiePrefix, err)
	}
	return cfg
}

// call is a request to the stand-in: GET PathResolve on stack.PublicHost
// unless said otherwise, with header lines "Name: value" joined by "\n".
type call struct {
	method, target, host, header string
}

// request builds c against base: "" in process, else a server's URL.
func (c call) request(base string) *http.Request {
	req, err := http.NewRequest(cmp.Or(c.method, http.MethodGet), base+cmp.Or(c.target, standin.PathResolve), nil)
	if err != nil {
		panic(err)
	}
	req.Host = cmp.Or(c.host, stack.PublicHost)
	for _, line := range strings.Split(c.header, "\n") {
		if k, v, ok := strings.Cut(line, ": "); ok {
			req.Header.Add(k, v)
		}
	}
	return req
}

// serve answers c in process.
func serve(h http.Handler, c call) *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, c.request(""))
	return rec
}

// send sends c over a connection to base and reads the answer.
func send(client *http.Client, base string, c call) (*http.Response, string, error) {
	resp, err := client.Do(c.request(base))
	if err != nil {
		return nil, "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return resp, string(body), err
}

// sameHeaders tells whether got and want hold the same headers with the same
// values, but for those the recordings leave out or that vary per answer,
// and a huge-header fault's padding.
func sameHeaders(got, want http.Header) bool {
	got, want = got.Clone(), want.Clone()
	for _, k := range []string{"Date", "Permissions-Policy", "X-Authgear-Padding"} {
		got.Del(k)
		want.Del(k)
	}
	return maps.EqualFunc(got, want, slices.Equal)
}

// with is a plus b's headers.
func with(a, b http.Header) http.Header {
	h := a.Clone()
	maps.Copy(h, b)
	return h
}

// common are the headers of every resolver answer.
var common = http.Header{"X-Content-Type-Options": {"nosniff"}, "X-Robots-Tag": {"noindex, nofollow"}}

// identity is a valid session's answer; roles "" sends no roles header.
func identity(id, anonymous, verified, canReauthenticate, roles, amr string) http.Header {
	h := with(common, http.Header{
		"X-Authgear-Session-Valid":            {"true"},
		"X-Authgear-User-Id":                  {id},
		"X-Authgear-User-Anonymous":           {anonymous},
		"X-Authgear-User-Verified":            {verified},
		"X-Authgear-User-Can-Reauthenticate":  {canReauthenticate},
		"X-Authgear-Session-Amr":              {amr},
		"X-Authgear-Session-Authenticated-At": {"1795920688"},
	})
	if roles != "" {
		h["X-Authgear-User-Roles"] = []string{roles}
	}
	return h
}

// The answers for the users of testdata/users.json, and for a stale IdP
// session cookie of a given name.
var (
	alice = identity(aliceID, "false", "true", "true", "admin,editor", "pwd otp")
	bob   = identity(bobID, "false", "false", "true", "editor", "")
	carol = identity(carolID, "false", "true", "true", "", "pwd")
	anon  = identity(anonID, "true", "false", "false", "", "")
)

func stale(cookie string) http.Header {
	return with(common, http.Header{
		"X-Authgear-Session-Valid": {"false"},
		"Set-Cookie":               {cookie + "=; Path=/; Expires=Thu, 01 Jan 1970 00:00:00 GMT; HttpOnly; SameSite=Lax"},
	})
}

// TestLoadConfig loads users files: every error names the file and the
// problem; a file without publicHost loads (the command's -public-host sets
// it). testdata/users.json itself is loaded by loadUsers.
func TestLoadConfig(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		name, json, want string // want: in the error; "" for none
	}{
		{"not JSON", `{`, "invalid JSON"},
		{"array instead of object", `[]`, "invalid JSON"},
		{"misspelt field", `{"users":[{"id":"a","session":["x"]}]}`, `unknown field "session"`},
		{"trailing data", `{"users":[]} {}`, "exactly one object"},
		{"missing id", `{"users":[{"sessions":["x"]}]}`, "users[0]: id is empty"},
		{"duplicate id", `{"users":[{"id":"a"},{"id":"a"}]}`, `users[1]: id "a" is already used by users[0]`},
		{"shared bearer", `{"users":[{"id":"a","bearerTokens":["t"]},{"id":"b","bearerTokens":["t"]}]}`, `bearerTokens value "t" is also given to user "a"`},
		{"repeated session in one user", `{"users":[{"id":"a","sessions":["s","s"]}]}`, `sessions value "s" is also given to user "a"`},
		{"empty credential", `{"users":[{"id":"a","appSessions":[""]}]}`, "appSessions has an empty value"},
		{"cookie value with space", `{"users":[{"id":"a","sessions":["a b"]}]}`, "cannot be sent as a cookie"},
		{"role with comma", `{"users":[{"id":"a","roles":["a,b"]}]}`, "without commas"},
		{"bad cookie prefix", `{"cookiePrefix":"a b","users":[]}`, "cookiePrefix"},
		{"public host with path", `{"publicHost":"auth.example.com/x","users":[]}`, "bare host"},
		{"no public host", `{"users":[{"id":"a","bearerTokens":["t"]}]}`, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(dir, strings.ReplaceAll(tc.name, " ", "-")+".json")
			if err := os.WriteFile(path, []byte(tc.json), 0o600); err != nil {
				t.Fatal(err)
			}
			cfg, err := standin.LoadConfig(path)
			if tc.want == "" && (err != nil || cfg.PublicHost != "" || len(cfg.Users) != 1) {
				t.Errorf("LoadConfig = %+v, %v; want one user and no public host", cfg, err)
			}
			if tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), path)) {
				t.Errorf("LoadConfig error = %v, want one naming the file and containing %q", err, tc.want)
			}
		})
	}
	if _, err := standin.LoadConfig(filepath.Join(dir, "nope.json")); err == nil || !strings.Contains(err.Error(), "read users file") {
		t.Errorf("a missing file: %v, want a read error", err)
	}
}
