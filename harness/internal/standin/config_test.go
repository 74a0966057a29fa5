package standin_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/traefik-authgear/traefik-authgear/harness/internal/standin"
)

func TestLoadConfigRepositoryUsers(t *testing.T) {
	cfg := loadUsers(t)
	if cfg.PublicHost != publicHost || cfg.CookiePrefix != "" {
		t.Errorf("publicHost, cookiePrefix = %q, %q; want %q, \"\"", cfg.PublicHost, cfg.CookiePrefix, publicHost)
	}
	ids := map[string]bool{}
	for _, u := range cfg.Users {
		ids[u.ID] = true
	}
	for _, id := range []string{aliceID, bobID, carolID, anonID} {
		if !ids[id] {
			t.Errorf("%s lacks user %s", usersFile, id)
		}
	}
}

func TestLoadConfigErrors(t *testing.T) {
	cases := []struct {
		name, json, want string
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
		{"public host with path", `{"publicHost":"auth.example.test/x","users":[]}`, "bare host"},
	}
	dir := t.TempDir()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(dir, "users.json")
			if err := os.WriteFile(path, []byte(tc.json), 0o600); err != nil {
				t.Fatal(err)
			}
			_, err := standin.LoadConfig(path)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("LoadConfig error = %v, want one containing %q", err, tc.want)
			}
			if err != nil && !strings.Contains(err.Error(), path) {
				t.Errorf("error %q does not name the file", err)
			}
		})
	}
}

func TestLoadConfigMissingFile(t *testing.T) {
	_, err := standin.LoadConfig(filepath.Join(t.TempDir(), "nope.json"))
	if err == nil || !strings.Contains(err.Error(), "read users file") {
		t.Errorf("error = %v, want a read error", err)
	}
}

func TestLoadConfigAllowsMissingPublicHost(t *testing.T) {
	path := filepath.Join(t.TempDir(), "users.json")
	if err := os.WriteFile(path, []byte(`{"users":[{"id":"a","bearerTokens":["t"]}]}`), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := standin.LoadConfig(path)
	if err != nil || cfg.PublicHost != "" || len(cfg.Users) != 1 {
		t.Errorf("LoadConfig = %+v, %v; want one user and no public host", cfg, err)
	}
}
