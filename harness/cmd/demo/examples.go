package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/traefik-authgear/traefik-authgear/harness/internal/echo"
)

// Users of testdata/users.json that the examples use.
const (
	aliceID = "7b0f6c42-1a6e-4d0e-9c53-2c1f0f6f5b1e"
	bobID   = "05442258-c3ab-4306-ac99-b347da1fc855"
)

// example is one request the demo suggests (header: "Name: value" or ""),
// what it should show, and its check (nil: it needs your credentials).
type example struct {
	title, path, header, expect string
	check                       func(status int, backend *echo.Request) error
}

// examples returns the demo's requests, for the stand-in or a real Authgear.
func examples(real bool) []example {
	anonymous := example{"anonymous", "/", "", "200; the backend gets no X-Authgear-* header", wantIdentity("")}
	forged := example{"a forged identity header", "/", "X-Authgear-User-Id: admin",
		"200; the forged header is stripped: the backend gets no X-Authgear-* header", wantIdentity("")}
	noSession := example{"/admin without a session", "/admin", "", "401 Unauthorized", wantStatus(http.StatusUnauthorized)}
	if real {
		return []example{anonymous,
			{"your session cookie", "/", "Cookie: session=<your session cookie>",
				"200; the backend gets X-Authgear-Session-Valid: true and your X-Authgear-User-Id (copy the cookie from your browser)", nil},
			{"your access token", "/", "Authorization: Bearer <your access token>",
				"200; the backend gets your X-Authgear-User-Id", nil},
			forged, noSession,
			{"/admin as you", "/admin", "Authorization: Bearer <your access token>",
				"200 if your user has the admin role, else 403", nil},
		}
	}
	return []example{anonymous,
		{"alice by session cookie", "/", "Cookie: session=alice-session",
			"200; the backend gets X-Authgear-User-Id: " + aliceID + ", X-Authgear-User-Roles: admin,editor, ...", wantIdentity(aliceID)},
		{"bob by bearer token", "/", "Authorization: Bearer bob-token",
			"200; the backend gets X-Authgear-User-Id: " + bobID + ", X-Authgear-User-Roles: editor, ...", wantIdentity(bobID)},
		forged,
		{"/admin as bob (role editor)", "/admin", "Authorization: Bearer bob-token", "403 Forbidden", wantStatus(http.StatusForbidden)},
		{"/admin as alice (role admin)", "/admin", "Cookie: session=alice-session",
			"200; the backend gets alice's identity", wantIdentity(aliceID)},
		noSession,
	}
}

// curl renders an example as a command line to paste.
func (ex example) curl(baseURL string) string {
	cmd := "curl -i"
	if ex.header != "" {
		cmd += " -H '" + ex.header + "'"
	}
	return cmd + " " + baseURL + ex.path
}

// run sends the example's request and checks the answer.
func (ex example) run(client *http.Client, baseURL string) error {
	req, err := http.NewRequest(http.MethodGet, baseURL+ex.path, nil)
	if err != nil {
		return err
	}
	if name, value, ok := strings.Cut(ex.header, ": "); ok {
		req.Header.Set(name, value)
	}
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	var backend *echo.Request // the echo backend's JSON, if it answered
	if r := (echo.Request{}); json.Unmarshal(body, &r) == nil && r.Method != "" {
		backend = &r
	}
	if err := ex.check(resp.StatusCode, backend); err != nil {
		return fmt.Errorf("%w (got %s %q)", err, resp.Status, body[:min(len(body), 200)])
	}
	return nil
}

// wantIdentity expects the backend with userID's identity ("" none).
func wantIdentity(userID string) func(int, *echo.Request) error {
	return func(status int, backend *echo.Request) error {
		if status != http.StatusOK || backend == nil {
			return fmt.Errorf("want 200 from the backend")
		}
		h := http.Header(backend.Headers)
		if summary := echo.AuthgearSummary(h); userID == "" && summary != "" {
			return fmt.Errorf("the backend got identity headers %q, want none", summary)
		}
		if got := h.Get("X-Authgear-User-Id"); got != userID {
			return fmt.Errorf("the backend got X-Authgear-User-Id %q, want %q", got, userID)
		}
		return nil
	}
}

// wantStatus expects the middleware to answer status.
func wantStatus(status int) func(int, *echo.Request) error {
	return func(got int, backend *echo.Request) error {
		if got != status || backend != nil {
			return fmt.Errorf("want %d from the middleware", status)
		}
		return nil
	}
}

// check runs the examples, prints PASS, FAIL or SKIP, and reports success.
func check(w io.Writer, exs []example, baseURL string) bool {
	client := &http.Client{Timeout: 10 * time.Second}
	ok := true
	for _, ex := range exs {
		if ex.check == nil {
			fmt.Fprintf(w, "SKIP %-32s needs your own credentials\n", ex.title)
			continue
		}
		if err := ex.run(client, baseURL); err != nil {
			ok = false
			fmt.Fprintf(w, "FAIL %-32s %s\n     %v\n", ex.title, ex.curl(baseURL), err)
			continue
		}
		fmt.Fprintf(w, "PASS %-32s %s\n", ex.title, ex.curl(baseURL))
	}
	return ok
}
