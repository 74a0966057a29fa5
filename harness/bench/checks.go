package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// checkClient is used for the one-off requests that check each row.
var checkClient = &http.Client{Timeout: 10 * time.Second}

// probe sends GET base+path with the cookie (if any) and returns the
// status, the body and the backend's X-Echo-Authgear summary of the identity
// headers it received.
func probe(ctx context.Context, base, path, cookie string) (status int, body, identity string, err error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+path, nil)
	if err != nil {
		return 0, "", "", err
	}
	if cookie != "" {
		req.Header.Set("Cookie", cookie)
	}
	resp, err := checkClient.Do(req)
	if err != nil {
		return 0, "", "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	return resp.StatusCode, string(b), resp.Header.Get("X-Echo-Authgear"), err
}

// checkRow makes sure a row does what its name says before it is timed:
// the identity the backend receives, and the resolver calls it costs.
func checkRow(ctx context.Context, st *stack, name, benchUserID string) error {
	spec, _ := specOf(name)
	base := st.targets[name].base
	cookie := ""
	if spec.credential {
		cookie = "session=" + benchSession
	}
	var ctlErr error // the first failure to read the resolver's call count
	fail := func(format string, args ...any) error {
		if ctlErr != nil {
			return ctlErr
		}
		return fmt.Errorf("row %s (%s) does not do what it says: %s", name, base, fmt.Sprintf(format, args...))
	}
	status, body, _, err := probe(ctx, base, "/small", cookie)
	if err != nil {
		return fail("GET /small: %v", err)
	}
	if status != http.StatusOK || body != "ok" {
		return fail("GET /small answered %d %q, want 200 \"ok\"", status, body)
	}

	// identity sends one echo request and checks what the backend received.
	identity := func(cookie, want string) error {
		status, body, id, err := probe(ctx, base, "/check", cookie)
		if err != nil {
			return fail("GET /check: %v", err)
		}
		if status != http.StatusOK {
			return fail("GET /check answered %d %q", status, body)
		}
		if (want == "") != (id == "") || !strings.Contains(id, want) {
			return fail("the backend received identity %q, want %q", id, want)
		}
		return nil
	}
	calls := func() int64 {
		n, err := st.ctl.calls(ctx)
		if err != nil && ctlErr == nil {
			ctlErr = err
		}
		return n
	}
	wantUser := "user-id=" + benchUserID
	c0 := calls()
	switch name {
	case rowTraefikBare, rowNginxBare, rowTrivial, rowBareBrowser, rowTrivialBrowser:
		if err := identity(cookie, ""); err != nil {
			return err
		}
		if c := calls() - c0; c != 0 {
			return fail("%d resolver calls, want 0", c)
		}
	case rowPluginAnon, rowAnonBrowser:
		if err := identity("", ""); err != nil {
			return err
		}
		if c := calls() - c0; c != 0 {
			return fail("%d resolver calls for a request without credentials, want 0", c)
		}
	case rowPluginMiss:
		fresh := fmt.Sprintf("session=check-%d", time.Now().UnixNano())
		if err := identity(fresh, "session-valid=false"); err != nil {
			return err
		}
		if c := calls() - c0; c != 1 {
			return fail("%d resolver calls for a new session cookie, want 1", c)
		}
	case rowPluginReval:
		// Every request is past cacheTTL: served from the cache at once, at
		// most one background call per request.
		for i := 0; i < 2; i++ {
			if err := identity(cookie, wantUser); err != nil {
				return err
			}
		}
		if c := calls() - c0; c > 2 {
			return fail("%d resolver calls for two requests, want at most 2", c)
		}
	case rowPluginHit, rowNginxAuthCache, rowHitBrowser:
		if err := identity(cookie, wantUser); err != nil {
			return err
		}
		c1 := calls()
		if err := identity(cookie, wantUser); err != nil {
			return err
		}
		if c := calls() - c1; c != 0 {
			return fail("%d resolver calls for a credential just resolved, want 0 (cached)", c)
		}
		if c := c1 - c0; c > 1 {
			return fail("%d resolver calls for one request, want at most 1", c)
		}
	case rowPluginNoCache, rowForwardAuth, rowNginxAuth:
		for i := 0; i < 2; i++ {
			if err := identity(cookie, wantUser); err != nil {
				return err
			}
		}
		if c := calls() - c0; c != 2 {
			return fail("%d resolver calls for two requests, want 2 (no cache)", c)
		}
	default:
		return fail("no check for this row")
	}
	return ctlErr
}
