package standin

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
)

// User is one account the stand-in knows, with every credential that resolves
// to it. A credential value must be unique within its kind across all users.
type User struct {
	ID              string   `json:"id"`
	Email           string   `json:"email"`           // informational only
	Sessions        []string `json:"sessions"`        // values of the <prefix>session cookie (IdP session)
	AppSessions     []string `json:"appSessions"`     // values of the <prefix>app_session cookie
	AppAccessTokens []string `json:"appAccessTokens"` // values of the <prefix>app_access_token cookie
	BearerTokens    []string `json:"bearerTokens"`    // Authorization: Bearer <token>
	Roles           []string `json:"roles"`
	Anonymous       bool     `json:"anonymous"`
	Verified        bool     `json:"verified"`
	AMR             string   `json:"amr"` // space-joined, may be empty; the header is always sent, even empty
	AuthenticatedAt int64    `json:"authenticatedAt"`
}

// Config is what the stand-in answers for: the app's public host, its cookie
// prefix and its users. It is the shape of the users file read by LoadConfig.
type Config struct {
	PublicHost   string `json:"publicHost"`   // bearer tokens accepted only when X-Forwarded-Host (else Host) equals this
	CookiePrefix string `json:"cookiePrefix"` // Authgear's http.cookie_prefix, empty by default
	Users        []User `json:"users"`
}

// LoadConfig reads a users file (JSON in the shape of Config) and validates it.
// Unknown fields are errors, so a misspelt key does not silently drop a
// credential. An empty publicHost is allowed here because callers may set it
// afterwards (the command's -public-host flag).
func LoadConfig(path string) (Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return Config{}, fmt.Errorf("standin: read users file: %w", err)
	}
	var cfg Config
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err = dec.Decode(&cfg); err != nil {
		err = fmt.Errorf("invalid JSON (expected an object with publicHost, cookiePrefix, users): %w", err)
	} else if _, end := dec.Token(); !errors.Is(end, io.EOF) {
		err = errors.New("unexpected data after the JSON object: the file must hold exactly one object")
	} else {
		err = cfg.Validate()
	}
	if err != nil {
		return Config{}, fmt.Errorf("standin: users file %s: %w", path, err)
	}
	return cfg, nil
}

// Validate reports the first problem that would make the stand-in answer
// ambiguously or not at all: a user without id, a duplicate id, a credential
// used twice in the same kind, or a value that cannot travel in a header or
// cookie.
func (c Config) Validate() error {
	if !validHeaderValue(c.PublicHost) || strings.ContainsAny(c.PublicHost, " /") {
		return fmt.Errorf("publicHost %q: must be a bare host[:port] such as auth.example.com", c.PublicHost)
	}
	if c.CookiePrefix != "" && !validCookieName(c.CookiePrefix) {
		return fmt.Errorf("cookiePrefix %q: only cookie-name characters are allowed (letters, digits, - _ .)", c.CookiePrefix)
	}
	ids := make(map[string]int, len(c.Users))
	seen := map[string]string{} // by kind and value
	for i, u := range c.Users {
		where := fmt.Sprintf("users[%d]", i)
		if u.ID == "" {
			return fmt.Errorf("%s: id is empty: every user needs an id", where)
		}
		if !validHeaderValue(u.ID) {
			return fmt.Errorf("%s: id %q contains control characters", where, u.ID)
		}
		if j, dup := ids[u.ID]; dup {
			return fmt.Errorf("%s: id %q is already used by users[%d]", where, u.ID, j)
		}
		ids[u.ID] = i
		if !validHeaderValue(u.AMR) {
			return fmt.Errorf("%s (%s): amr %q contains control characters", where, u.ID, u.AMR)
		}
		for _, r := range u.Roles {
			if r == "" || strings.Contains(r, ",") || !validHeaderValue(r) {
				return fmt.Errorf("%s (%s): role %q: roles must be non-empty, without commas or control characters", where, u.ID, r)
			}
		}
		kinds := []struct {
			name   string
			values []string
			cookie bool
		}{
			{"sessions", u.Sessions, true},
			{"appSessions", u.AppSessions, true},
			{"appAccessTokens", u.AppAccessTokens, true},
			{"bearerTokens", u.BearerTokens, false},
		}
		for _, k := range kinds {
			for _, v := range k.values {
				if v == "" {
					return fmt.Errorf("%s (%s): %s has an empty value: remove it", where, u.ID, k.name)
				}
				if k.cookie && !validCookieValue(v) {
					return fmt.Errorf("%s (%s): %s value %q cannot be sent as a cookie (no spaces, quotes, commas, semicolons or backslashes)", where, u.ID, k.name, v)
				}
				if !k.cookie && !validHeaderValue(v) {
					return fmt.Errorf("%s (%s): %s value %q contains control characters", where, u.ID, k.name, v)
				}
				if other, dup := seen[k.name+"\x00"+v]; dup {
					return fmt.Errorf("%s (%s): %s value %q is also given to user %q: each credential must be unique", where, u.ID, k.name, v, other)
				}
				seen[k.name+"\x00"+v] = u.ID
			}
		}
	}
	return nil
}

// validHeaderValue reports whether s can be a header value as is.
func validHeaderValue(s string) bool {
	return !strings.ContainsFunc(s, func(c rune) bool { return c < 0x20 && c != '\t' || c == 0x7f })
}

// validCookieValue follows RFC 6265 cookie-octet, which is what net/http keeps
// when it parses a Cookie header.
func validCookieValue(s string) bool {
	return !strings.ContainsFunc(s, func(c rune) bool { return c <= 0x20 || c >= 0x7f || strings.ContainsRune("\",;\\", c) })
}

// validCookieName allows letters, digits, '-', '_' and '.'.
func validCookieName(s string) bool {
	return strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.") == ""
}
