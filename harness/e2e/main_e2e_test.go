//go:build e2e

package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/traefik-authgear/traefik-authgear/harness/internal/echo"
	"github.com/traefik-authgear/traefik-authgear/harness/internal/stack"
	"github.com/traefik-authgear/traefik-authgear/harness/internal/standin"
)

// startT starts a stack for one test and stops it at the test's end.
func startT(t *testing.T, o stack.Options) *stack.Stack {
	t.Helper()
	s, err := stack.Start(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Stop)
	return s
}

// routed returns a route through middleware mw at each prefix.
func routed(mw string, prefixes ...string) []stack.Route {
	var routes []stack.Route
	for _, p := range prefixes {
		routes = append(routes, stack.Route{Prefix: p, Middlewares: []string{mw}})
	}
	return routes
}

// loginURL is the loginURL of the "login" middleware.
const loginURL = "https://auth.example.test/login"

// mainMiddlewares are the shared stack's, each with its own stand-in, routed
// at /<name>/.
var mainMiddlewares = func() []stack.Middleware {
	mws := []stack.Middleware{
		{Name: "basic", Options: map[string]any{"cacheTTL": "60s"}},
		{Name: "prefixed", Options: map[string]any{"cookiePrefix": "myapp_"}, CookiePrefix: "myapp_"},
		{Name: "nohost", NoResolverHost: true},
		{Name: "nocache", Options: map[string]any{"cacheTTL": "0"}},
		{Name: "require", Options: map[string]any{"requireSession": true}},
		{Name: "noanon", Options: map[string]any{"requireSession": true, "rejectAnonymousUsers": true}},
		{Name: "roles", Options: map[string]any{"allowedRoles": []string{"admin"}}},
		{Name: "login", Options: map[string]any{"requireSession": true, "loginURL": loginURL}},
		{Name: "nocookies", Options: map[string]any{"forwardResolverCookies": false}},
		{Name: "down", ResolverDown: true},
		{Name: "downanon", ResolverDown: true, Options: map[string]any{"onResolverError": "anonymous"}},
		{Name: "slow", Options: map[string]any{"timeout": "300ms", "cacheTTL": "0"}},
		{Name: "failing", Options: map[string]any{"cacheTTL": "0"}},
	}
	for i := range mws {
		mws[i].OwnResolver = true
	}
	return mws
}()

// shared is the stack of mainStack once started; TestMain stops it.
var shared *stack.Stack

// startShared starts the shared stack; /ws and /sse go through "basic".
var startShared = sync.OnceValue(func() (err error) {
	routes := append(stack.DefaultRoutes(mainMiddlewares), routed("basic", "/ws", "/sse")...)
	shared, err = stack.Start(context.Background(), stack.Options{Middlewares: mainMiddlewares, Routes: routes})
	return err
})

// mainStack returns the stack shared by most tests, started on first use.
func mainStack(t *testing.T) *stack.Stack {
	t.Helper()
	if err := startShared(); err != nil {
		t.Fatal(err)
	}
	return shared
}

func TestMain(m *testing.M) {
	code := m.Run()
	if s := shared; s != nil {
		s.Stop()
		if code != 0 {
			fmt.Fprintf(os.Stderr, "Traefik output of the shared stack:\n%s\n", s.Traefik.Logs())
		}
	}
	os.Exit(code)
}

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
	echo   *echo.Request // what the backend received; nil if it did not answer
}

// request sends a request to s with headers as name, value pairs.
func request(t *testing.T, s *stack.Stack, method, path, body string, headers ...string) reply {
	t.Helper()
	req, err := http.NewRequest(method, s.URL(path), strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
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
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	r := reply{status: resp.StatusCode, header: resp.Header, body: string(b)}
	var ec echo.Request
	if strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") && json.Unmarshal(b, &ec) == nil && ec.Method != "" {
		r.echo = &ec
	}
	return r
}

// get is request with GET and no body.
func get(t *testing.T, s *stack.Stack, path string, headers ...string) reply {
	t.Helper()
	return request(t, s, http.MethodGet, path, "", headers...)
}

// wantStatus fails unless the client got status.
func (r reply) wantStatus(t *testing.T, status int) reply {
	t.Helper()
	if r.status != status {
		t.Fatalf("status %d, want %d; body %q", r.status, status, r.body)
	}
	return r
}

// wantIdentity checks the backend got exactly want's identity headers, names
// lower-cased with "_" read as "-" (as CGI-style backends see them).
func (r reply) wantIdentity(t *testing.T, want map[string]string) {
	t.Helper()
	if r.echo == nil {
		t.Fatalf("the backend was not reached: %d %q", r.status, r.body)
	}
	got := map[string]string{}
	for name, values := range r.echo.Headers {
		if n := strings.ReplaceAll(strings.ToLower(name), "_", "-"); strings.HasPrefix(n, "x-authgear-") {
			// Repeats and two spellings of one name show up joined.
			if prev, dup := got[n]; dup {
				values = append([]string{prev}, values...)
			}
			got[n] = strings.Join(values, ", ")
		}
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("backend got identity %v\nwant %v", got, want)
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

// identityOf is the identity headers the backend must see for a user; none
// for "", those of an unknown session for "invalid".
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
	return identity(u)
}

// identity is the identity headers the backend must see for a user of the
// stand-in, as identityOf's.
func identity(u standin.User) map[string]string {
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

// calls returns a counter of r's calls from now (0 for a nil r).
func calls(r *stack.Resolver) func() int64 {
	if r == nil {
		return func() int64 { return 0 }
	}
	start := r.Calls()
	return func() int64 { return r.Calls() - start }
}

// cookie is the Cookie header pair of a user's session.
func cookie(user string) []string { return []string{"Cookie", "session=" + user + "-session"} }
