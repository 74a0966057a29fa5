//go:build e2e

package e2e

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/traefik-authgear/traefik-authgear/harness/internal/echo"
	"github.com/traefik-authgear/traefik-authgear/harness/internal/stack"
	"github.com/traefik-authgear/traefik-authgear/harness/internal/standin"
)

// client follows no redirects and keeps no cookies.
var client = &http.Client{
	Timeout:       15 * time.Second,
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
}

// reply is what the client got.
type reply struct {
	status int
	header http.Header
	body   string
	// echo is what the backend received; nil when the answer did not come
	// from the backend.
	echo *echo.Request
	err  error // sending or reading failed
}

// fetch sends method url with body and headers given as name, value pairs
// ("Host" sets the request's Host). It is safe for goroutines: a failure is
// in reply.err.
func fetch(method, url, body string, headers ...string) reply {
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		return reply{err: err}
	}
	for i := 0; i+1 < len(headers); i += 2 {
		if strings.EqualFold(headers[i], "Host") {
			req.Host = headers[i+1]
			continue
		}
		req.Header.Add(headers[i], headers[i+1])
	}
	resp, err := client.Do(req)
	if err != nil {
		return reply{err: fmt.Errorf("%s %s: %w", method, url, err)}
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	r := reply{status: resp.StatusCode, header: resp.Header, body: string(b), err: err}
	var ec echo.Request
	if strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") && json.Unmarshal(b, &ec) == nil && ec.Method != "" {
		r.echo = &ec
	}
	return r
}

// request sends method path to s's web entrypoint; a failure ends the test.
func request(t *testing.T, s *stack.Stack, method, path, body string, headers ...string) reply {
	t.Helper()
	r := fetch(method, s.URL(path), body, headers...)
	if r.err != nil {
		t.Fatal(r.err)
	}
	return r
}

// get is request with GET and no body.
func get(t *testing.T, s *stack.Stack, path string, headers ...string) reply {
	t.Helper()
	return request(t, s, http.MethodGet, path, "", headers...)
}

// identity returns the identity headers the backend received, names
// lower-cased with "_" read as "-" (the way CGI-style backends see them);
// an error when the backend was not reached.
func (r reply) identity() (map[string]string, error) {
	if r.err != nil {
		return nil, r.err
	}
	if r.echo == nil {
		return nil, fmt.Errorf("the backend was not reached: %d %q", r.status, r.body)
	}
	id := map[string]string{}
	for name, values := range r.echo.Headers {
		n := strings.ReplaceAll(strings.ToLower(name), "_", "-")
		if !strings.HasPrefix(n, "x-authgear-") {
			continue
		}
		// Repeated values, or two spellings of one name, show up joined
		// with ", ", which no expected value contains.
		if prev, dup := id[n]; dup {
			values = append([]string{prev}, values...)
		}
		id[n] = strings.Join(values, ", ")
	}
	return id, nil
}

// checkIdentity is the goroutine-safe form of wantIdentity.
func (r reply) checkIdentity(want map[string]string) error {
	got, err := r.identity()
	if err != nil {
		return err
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		return fmt.Errorf("backend got identity %v\nwant %v", got, want)
	}
	return nil
}

// wantStatus fails unless the client got status.
func (r reply) wantStatus(t *testing.T, status int) reply {
	t.Helper()
	if r.status != status {
		t.Fatalf("status %d, want %d; body %q", r.status, status, r.body)
	}
	return r
}

// wantIdentity checks that the backend received exactly want's identity
// headers (none for an empty want).
func (r reply) wantIdentity(t *testing.T, want map[string]string) {
	t.Helper()
	if err := r.checkIdentity(want); err != nil {
		t.Error(err)
	}
}

// users are testdata/users.json's users by their first name.
var users = func() map[string]standin.User {
	cfg, err := stack.Users()
	if err != nil {
		panic(err)
	}
	m := map[string]standin.User{}
	for _, u := range cfg.Users {
		for _, s := range u.Sessions {
			if name, ok := strings.CutSuffix(s, "-session"); ok {
				m[name] = u
			}
		}
	}
	return m
}()

// identityOf returns the identity headers a backend must see for a user
// with a valid session, as Authgear sends them; for "" none, and for
// "invalid" those of an unknown session cookie.
func identityOf(t testing.TB, name string) map[string]string {
	t.Helper()
	switch name {
	case "":
		return map[string]string{}
	case "invalid":
		return map[string]string{"x-authgear-session-valid": "false"}
	}
	u, ok := users[name]
	if !ok {
		t.Fatalf("no user %q in testdata/users.json", name)
	}
	id := map[string]string{
		"x-authgear-session-valid":           "true",
		"x-authgear-user-id":                 u.ID,
		"x-authgear-user-anonymous":          strconv.FormatBool(u.Anonymous),
		"x-authgear-user-verified":           strconv.FormatBool(u.Verified),
		"x-authgear-user-can-reauthenticate": strconv.FormatBool(!u.Anonymous),
		"x-authgear-session-amr":             u.AMR,
	}
	if len(u.Roles) > 0 {
		id["x-authgear-user-roles"] = strings.Join(u.Roles, ",")
	}
	if u.AuthenticatedAt != 0 {
		id["x-authgear-session-authenticated-at"] = strconv.FormatInt(u.AuthenticatedAt, 10)
	}
	return id
}

// calls returns a function that reports how many resolver calls were made
// since calls was called.
func calls(r *stack.Resolver) func() int64 {
	start := r.Calls()
	return func() int64 { return r.Calls() - start }
}

// cookie is the Cookie header pair of a user's session.
func cookie(user string) []string { return []string{"Cookie", "session=" + user + "-session"} }
