//go:build e2e

package e2e

import (
	"fmt"
	"os"
	"sync"
	"testing"
)

// loginURL is the loginURL of the "login" middleware.
const loginURL = "https://auth.example.test/login"

// mainMiddlewares are the middlewares of the Traefik shared by most tests,
// each with its own stand-in resolver, routed at /<name>/ unless noted.
var mainMiddlewares = []middleware{
	// basic also serves the echo backend's /ws and /sse, whose paths are fixed.
	{name: "basic", options: []string{"cacheTTL: 60s"}, routes: []string{"/basic/", "/ws", "/sse"}},
	{name: "prefixed", options: []string{"cookiePrefix: myapp_"}, cookiePrefix: "myapp_"},
	{name: "nohost", noResolverHost: true},
	{name: "cached", options: []string{"cacheTTL: 60s"}},
	{name: "shared", options: []string{"cacheTTL: 60s"}, routes: []string{"/shared-a/", "/shared-b/"}},
	{name: "nocache", options: []string{"cacheTTL: 0"}},
	{name: "shortttl", options: []string{"cacheTTL: 1s", "staleWhileRevalidate: 0"}},
	{name: "require", options: []string{"requireSession: true"}},
	{name: "noanon", options: []string{"requireSession: true", "rejectAnonymousUsers: true"}},
	{name: "roles", options: []string{"allowedRoles: [admin]"}},
	{name: "login", options: []string{"requireSession: true", "loginURL: " + loginURL}},
	{name: "nocookies", options: []string{"forwardResolverCookies: false"}},
	{name: "down", down: true},
	{name: "downanon", down: true, options: []string{"onResolverError: anonymous"}},
	{name: "slow", options: []string{"timeout: 300ms", "cacheTTL: 0"}},
	{name: "slowanon", options: []string{"timeout: 300ms", "cacheTTL: 0", "onResolverError: anonymous"}},
	{name: "failing", options: []string{"cacheTTL: 0"}},
	{name: "stale", options: []string{"cacheTTL: 1s", "staleWhileRevalidate: 0", "staleIfError: 1m"}},
	{name: "nostale", options: []string{"cacheTTL: 1s", "staleWhileRevalidate: 0"}},
	{name: "webhook", options: []string{"cacheTTL: 60s", "webhookPath: /webhook/authgear", "webhookSecret: " + webhookSecret}},
}

// mainState is the Traefik shared by the tests that use mainEnv; TestMain stops it.
var mainState struct {
	once sync.Once
	env  *env
	err  error
}

// mainEnv starts the shared environment on first use.
func mainEnv(t *testing.T) *env {
	t.Helper()
	mainState.once.Do(func() { mainState.env, mainState.err = startEnv(mainMiddlewares) })
	if mainState.err != nil {
		t.Fatal(mainState.err)
	}
	return mainState.env
}

func TestMain(m *testing.M) {
	code := m.Run()
	if mainState.env != nil {
		mainState.env.close()
		if code != 0 {
			fmt.Fprintf(os.Stderr, "Traefik output of the shared environment:\n%s\n", mainState.env.traefik.Logs())
		}
	}
	os.Exit(code)
}
