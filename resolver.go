package authgear

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"time"
)

// statusClientClosedRequest answers a request whose client went away while
// it waited for another request's resolver call (nginx's 499).
const statusClientClosedRequest = 499

// maxResolverHeaderBytes bounds the resolver's answer headers: a real answer
// has well under 1 KiB of them.
const maxResolverHeaderBytes = 64 << 10

// newResolverTransport returns the HTTP transport for the resolver:
// keep-alive connections reused, no proxy from the environment, answer
// headers bounded. Calls go through RoundTrip, which follows no redirect
// (Authgear redirects only a mistyped URL), with the timeout as a context
// deadline.
//
// No http.Client and no DialContext: either would hand an interpreted
// function or method value to the standard library, and under Yaegi such a
// value keeps the frames of its creator, and so the previous instance of a
// reloaded middleware, reachable.
func newResolverTransport(s *settings) *http.Transport {
	return &http.Transport{
		TLSClientConfig:        s.tlsConfig,
		TLSHandshakeTimeout:    s.timeout,
		ResponseHeaderTimeout:  s.timeout,
		MaxIdleConns:           256,
		MaxIdleConnsPerHost:    256,
		IdleConnTimeout:        60 * time.Second,
		MaxResponseHeaderBytes: maxResolverHeaderBytes,
		DisableCompression:     true,
		ForceAttemptHTTP2:      true,
	}
}

// identify returns the identity for the request's credentials after a cache
// miss: from the one resolver call shared by all concurrent misses of the
// same key (or from the cache, if an answer arrived meanwhile). A non-zero
// status means the request must be answered with it.
func (m *Middleware) identify(req *http.Request, key string) (*answer, int) {
	c := m.shared.cache
	now := time.Now().UnixNano()
	ans, cl, leader := c.lookup(key, now)
	if ans != nil {
		return ans, 0
	}
	if leader {
		ans, err := m.callResolver(req)
		c.complete(key, cl, ans, err, time.Now().UnixNano())
		if err != nil {
			m.shared.logf("resolver call failed: %v", err)
		}
	} else {
		select {
		case <-cl.done:
		case <-req.Context().Done():
			return nil, statusClientClosedRequest
		}
	}
	if cl.err == nil {
		return cl.ans, 0
	}
	if stale := c.stale(key, now); stale != nil {
		return stale, 0
	}
	if m.settings.anonymousOnError {
		return nil, 0
	}
	if errors.Is(cl.err, context.DeadlineExceeded) || os.IsTimeout(cl.err) {
		return nil, http.StatusGatewayTimeout
	}
	return nil, http.StatusBadGateway
}

// callResolver asks the resolver who the request's credentials belong to:
// GET, no body, the request's headers, the Authgear host in Host and
// X-Forwarded-Host. The call does not depend on the client's context: a
// client that gives up must not cancel the answer other requests wait for.
func (m *Middleware) callResolver(req *http.Request) (*answer, error) {
	s := m.settings
	ctx, cancel := context.WithTimeout(context.Background(), s.timeout)
	defer cancel()
	out, err := http.NewRequestWithContext(ctx, http.MethodGet, s.resolverURL, nil)
	if err != nil {
		return nil, err
	}
	out.Header = resolverHeaders(req, s.resolverHost)
	out.Host = s.resolverHost
	resp, err := m.shared.roundTrip.RoundTrip(out)
	if err != nil {
		return nil, fmt.Errorf("resolver %s: %w", s.resolverURL, err)
	}
	// Drain a little of the body so that the connection can be reused.
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("resolver %s answered %q", s.resolverURL, resp.Status)
	}
	return newAnswer(resp.Header, s), nil
}
