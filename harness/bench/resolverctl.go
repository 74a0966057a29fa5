package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"
)

// resolverCtl drives the stand-in resolver's control endpoints
// (internal/standin, /_standin/): its call count and its added latency.
type resolverCtl struct {
	base   string // http://host:port
	client *http.Client
}

func newResolverCtl(addr string) *resolverCtl {
	return &resolverCtl{base: "http://" + addr, client: &http.Client{Timeout: 10 * time.Second}}
}

// resolveURL is the resolve endpoint the proxies call.
func (r *resolverCtl) resolveURL() string { return r.base + "/_resolver/resolve" }

// calls returns the number of resolve requests received so far.
func (r *resolverCtl) calls(ctx context.Context) (int64, error) {
	var v struct {
		Calls int64 `json:"calls"`
	}
	if err := r.do(ctx, http.MethodGet, "/_standin/calls", &v); err != nil {
		return 0, err
	}
	return v.Calls, nil
}

// setLatency makes every later resolve request wait d before answering.
func (r *resolverCtl) setLatency(ctx context.Context, d time.Duration) error {
	path := "/_standin/fault"
	if d > 0 {
		path += "?" + url.Values{"latency": {d.String()}}.Encode()
	}
	return r.do(ctx, http.MethodPost, path, nil)
}

func (r *resolverCtl) do(ctx context.Context, method, path string, v any) error {
	req, err := http.NewRequestWithContext(ctx, method, r.base+path, nil)
	if err != nil {
		return err
	}
	resp, err := r.client.Do(req)
	if err != nil {
		return fmt.Errorf("stand-in resolver %s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("stand-in resolver %s %s: %s: %s", method, path, resp.Status, body)
	}
	if v == nil {
		return nil
	}
	return json.Unmarshal(body, v)
}
