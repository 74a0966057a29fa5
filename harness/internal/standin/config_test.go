package standin_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/traefik-authgear/traefik-authgear/harness/internal/standin"
)

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
