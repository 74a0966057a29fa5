package main

import (
	"context"
	"encoding/json"
	"net/http"
	"time"

	"github.com/traefik-authgear/traefik-authgear/harness/internal/standin"
)

// resolverCtl is the stand-in resolver process's host:port; its methods
// drive the stand-in's control endpoints (internal/standin, /_standin/).
type resolverCtl string

// resolveURL is the resolve endpoint the proxies call.
func (r resolverCtl) resolveURL() string { return "http://" + string(r) + standin.PathResolve }

// calls returns the number of resolve requests received so far.
func (r resolverCtl) calls(ctx context.Context) (int64, error) {
	var v struct {
		Calls int64 `json:"calls"`
	}
	err := r.do(ctx, http.MethodGet, "calls", &v)
	return v.Calls, err
}

// during runs f and returns the resolve requests received meanwhile.
func (r resolverCtl) during(ctx context.Context, f func() error) (int64, error) {
	before, err := r.calls(ctx)
	if err != nil {
		return 0, err
	}
	if err := f(); err != nil {
		return 0, err
	}
	after, err := r.calls(ctx)
	return after - before, err
}

// setLatency makes every later resolve request wait d before answering.
func (r resolverCtl) setLatency(ctx context.Context, d time.Duration) error {
	return r.do(ctx, http.MethodPost, "fault?"+standin.Fault{Latency: d}.String(), nil)
}

// do sends one control request and decodes its JSON answer into v (if not
// nil).
func (r resolverCtl) do(ctx context.Context, method, path string, v any) error {
	body, err := requestOK(ctx, checkClient, method, "http://"+string(r)+standin.ControlPrefix+path, "")
	if err != nil || v == nil {
		return err
	}
	return json.Unmarshal([]byte(body), v)
}
