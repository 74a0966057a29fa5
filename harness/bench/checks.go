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

// request sends one request with the cookie (if any) and returns the
// status, the body (its first megabyte) and the backend's X-Echo-Authgear
// summary of the identity headers it received.
func request(ctx context.Context, client *http.Client, method, url, cookie string) (status int, body, identity string, err error) {
	req, err := http.NewRequestWithContext(ctx, method, url, nil)
	if err != nil {
		return 0, "", "", err
	}
	if cookie != "" {
		req.Header.Set("Cookie", cookie)
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0, "", "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	return resp.StatusCode, string(b), resp.Header.Get("X-Echo-Authgear"), err
}

// get is a GET request.
func get(ctx context.Context, client *http.Client, url, cookie string) (status int, body, identity string, err error) {
	return request(ctx, client, http.MethodGet, url, cookie)
}

// requestOK is request that wants 200 and returns the body.
func requestOK(ctx context.Context, client *http.Client, method, url, cookie string) (string, error) {
	status, body, _, err := request(ctx, client, method, url, cookie)
	if err == nil && status != http.StatusOK {
		err = fmt.Errorf("%s %s: %d %q", method, url, status, body)
	}
	return body, err
}

// checkRow makes sure a row does what its name says before it is timed:
// GET /small answers "ok", and the requests of s.expect reach the backend
// with the identity and cost the resolver calls it says.
func checkRow(ctx context.Context, p *proxies, ctl resolverCtl, s rowSpec, benchUserID string) error {
	base := p.base[s.ep]
	fail := func(format string, args ...any) error {
		return fmt.Errorf("row %s (%s) does not do what it says: %s", s.name, base, fmt.Sprintf(format, args...))
	}
	if status, body, _, err := get(ctx, checkClient, base+"/small", s.cookie()); err != nil || status != http.StatusOK || body != "ok" {
		return fail("GET /small answered %d %q (%v), want 200 \"ok\"", status, body, err)
	}
	want := strings.ReplaceAll(s.expect.identity, userIdentity, "user-id="+benchUserID)
	cookie := s.cookie()
	c, err := ctl.during(ctx, func() error {
		for range s.expect.n {
			status, body, id, err := get(ctx, checkClient, base+"/check", cookie)
			switch {
			case err != nil || status != http.StatusOK:
				return fail("GET /check answered %d %q (%v)", status, body, err)
			case (want == "") != (id == "") || !strings.Contains(id, want):
				return fail("the backend received identity %q, want %q", id, want)
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	if c < s.expect.minCalls || c > s.expect.maxCalls {
		return fail("%d resolver calls for %d request(s) with one credential, want %d to %d", c, s.expect.n, s.expect.minCalls, s.expect.maxCalls)
	}
	return nil
}
