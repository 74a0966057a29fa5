//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"os"
	"sync"
	"testing"

	"github.com/traefik-authgear/traefik-authgear/harness/internal/stack"
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
