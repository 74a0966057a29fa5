package authgear

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"time"
)

// maxResolverHeaderBytes bounds the resolver's answer headers: a real answer
// has well under 1 KiB of them.
const maxResolverHeaderBytes = 64 << 10

// maxResolverConns bounds the connections one middleware opens to the
// resolver: a flood of distinct credentials queues for them (each call still
// within timeout) instead of opening thousands of connections to Authgear.
const maxResolverConns = 64

// newResolverTransport returns the HTTP transport for the resolver:
// keep-alive connections reused and bounded, no proxy from the environment,
// answer headers bounded. Calls go through RoundTrip, which follows no
// redirect (Authgear redirects only a mistyped URL), with the timeout as a
// context deadline.
//
// No http.Client and no DialContext: either would hand an interpreted
// function or method value to the standard library, which would keep the
// previous instance of a reloaded middleware reachable (see the package doc).
func newResolverTransport(s *settings) *http.Transport {
	return &http.Transport{
		TLSClientConfig:        s.tlsConfig,
		TLSHandshakeTimeout:    s.timeout,
		ResponseHeaderTimeout:  s.timeout,
		MaxIdleConns:           maxResolverConns,
		MaxIdleConnsPerHost:    maxResolverConns,
		MaxConnsPerHost:        maxResolverConns,
		IdleConnTimeout:        60 * time.Second,
		MaxResponseHeaderBytes: maxResolverHeaderBytes,
		DisableCompression:     true,
		ForceAttemptHTTP2:      true,
	}
}

// allowsStale reports whether a failed call may be answered with a stale
// entry (staleIfError): only when Authgear could not answer (a timeout, a
// transport error, a 5xx). A 4xx is an answer about the request itself, and
// a client can provoke one (a header too large for the ingress gives 431), so
// it must not extend a revoked session's life; so must a transport error
// about the request itself, which callResolver gives the status of the 4xx
// it stands for. status is the resolver's answer, 0 when there was none.
func allowsStale(status int, err error) bool {
	if status != 0 {
		return status >= 500
	}
	return !isCancelled(err)
}

// refusedRequestStatus classifies a transport error that is about the
// request itself, which a client can provoke with what it sends: the status
// a server would have answered it with (431 for a header list over the
// HTTP/2 peer's advertised limit, 400 for a header Go will not send), or 0
// for any other error, which is Authgear's side failing. Such an error is
// then treated as that 4xx answer: no stale answer, and a refresh that fails
// so drops its entry (see allowsStale). net/http's errors for these are
// unexported, so they are recognised by their text, stable across Go
// releases ("http2: request header list larger than peer's advertised
// limit"; "invalid HTTP header ..." from HTTP/2's request encoding,
// "net/http: invalid header field ..." from HTTP/1's). An HTTP/2 stream
// error about the answer's headers ("invalid header field value ..."
// without the net/http prefix) is Authgear's side, not the request's.
func refusedRequestStatus(err error) int {
	text := err.Error()
	switch {
	case strings.Contains(text, "larger than peer's advertised limit"):
		return http.StatusRequestHeaderFieldsTooLarge
	case strings.Contains(text, "invalid HTTP header") || strings.Contains(text, "net/http: invalid header field"):
		// One expression: Yaegi v0.16.1 tests only the first of a tagless
		// switch's case list.
		return http.StatusBadRequest
	}
	return 0
}

// maxCredentialBytes bounds the credentials a request may carry: the Cookie
// header the resolver is sent (Authgear's credential cookies only) and every
// Authorization value, together. Authgear's own tokens and cookies are far
// smaller. With the unkeyed headers bounded too (maxUserAgent,
// maxForwardedFor), a resolver request is at most a few KiB past its
// credentials, so whether it fits a resolver's header limit depends on the
// credentials alone; credentials past the bound get 431 without a resolver
// call, and never a stale answer.
const maxCredentialBytes = 8 << 10

// credentialBytes is the size of the credentials as the resolver would be
// sent them.
func credentialBytes(cr *credentials, names *cookieNames) int {
	n := len(cr.cookieHeader(names))
	for _, v := range cr.authorization {
		n += len(v)
	}
	return n
}

// isCancelled reports whether a call ended because every waiter had gone.
func isCancelled(err error) bool {
	return errors.Is(err, context.Canceled)
}

// failureStatus is the status a request gets when its resolver call failed
// and nothing stale may be served: 431 when the resolver refused the
// request's headers as too large (the client must send less), 504 on a
// timeout, 502 otherwise. status is the resolver's answer, 0 for none.
func failureStatus(status int, err error) int {
	if status == http.StatusRequestHeaderFieldsTooLarge {
		return status
	}
	if errors.Is(err, context.DeadlineExceeded) || os.IsTimeout(err) {
		return http.StatusGatewayTimeout
	}
	return http.StatusBadGateway
}

// callResolver asks the resolver who the credentials in header (see
// resolverRequestHeader) belong to, and fills r: the answer, or the error
// and the resolver's status if it answered other than 200 (or the status
// refusedRequestStatus gives a transport error about the request). The context is the call's own (see flight.go), not a
// client's. (A status field rather than an error type: errors.As on an
// interpreted type panics under Yaegi.)
func callResolver(ctx context.Context, in *instance, header http.Header, r *callResult) {
	s := in.settings
	out, err := http.NewRequestWithContext(ctx, http.MethodGet, s.resolverURL, nil)
	if err != nil {
		r.err = err
		return
	}
	out.Header = header
	out.Host = s.resolverHost
	resp, err := in.app.roundTrip.RoundTrip(out)
	if err != nil {
		r.err = fmt.Errorf("resolver %s: %w", s.resolverURL, err)
		r.status = refusedRequestStatus(err)
		return
	}
	// Drain a little of the body so that the connection can be reused.
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		r.status = resp.StatusCode
		r.err = fmt.Errorf("resolver %s answered %q", s.resolverURL, resp.Status)
		return
	}
	r.ans = newAnswer(resp.Header)
}

// resolverRequestHeader builds the headers of the request to the resolver
// from nothing, so that Authgear sees only what the plugin vouches for:
//
//   - Cookie and Authorization: exactly the credentials the cache key was
//     computed from (the Cookie header rebuilt from the parsed credential
//     cookies; analytics and preference cookies are not Authgear's business);
//   - X-Forwarded-Host and X-Forwarded-Proto: the Authgear app's public
//     origin, which selects the app and is the audience of its JWTs;
//   - X-Forwarded-For: the client address as Traefik established it (its
//     trusted X-Forwarded-For, then the peer address, as httputil's
//     ReverseProxy appends it); Forwarded, X-Real-Ip and X-Original-For from
//     the client are not sent, since Authgear would record them as the
//     session's IP;
//   - User-Agent, which Authgear shows in the user's device list.
func resolverRequestHeader(req *http.Request, cr *credentials, s *settings) http.Header {
	h := http.Header{
		"X-Forwarded-Host":  {s.resolverHost},
		"X-Forwarded-Proto": {s.resolverScheme},
	}
	if cr.scheme != "" {
		h["X-Forwarded-Proto"] = []string{cr.scheme}
	}
	if cookie := cr.cookieHeader(&s.cookies); cookie != "" {
		h["Cookie"] = []string{cookie}
	}
	if len(cr.authorization) > 0 {
		h["Authorization"] = append([]string(nil), cr.authorization...)
	}
	// Neither of the two unkeyed headers may make the request large: a
	// client could otherwise make its own resolver calls fail (and get a
	// stale answer) by padding them.
	ua := ""
	if v := req.Header["User-Agent"]; len(v) > 0 {
		ua = truncate(v[0], maxUserAgent)
	}
	h["User-Agent"] = []string{ua} // "" rather than Go's default
	if ip, _, err := net.SplitHostPort(req.RemoteAddr); err == nil {
		if hops := lastHops(strings.Join(req.Header["X-Forwarded-For"], ", "), maxForwardedFor); hops != "" {
			ip = hops + ", " + ip
		}
		h["X-Forwarded-For"] = []string{ip}
	}
	return h
}

// Bounds of the unkeyed headers sent to the resolver.
const (
	maxUserAgent    = 512
	maxForwardedFor = 512
)

// truncate returns s cut to at most n bytes.
func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

// lastHops returns the end of an X-Forwarded-For list, at most n bytes of
// whole entries: the hops nearest Traefik, the ones it trusts.
func lastHops(list string, n int) string {
	if len(list) <= n {
		return list
	}
	tail := list[len(list)-n:]
	if i := strings.Index(tail, ","); i >= 0 {
		return strings.TrimSpace(tail[i+1:])
	}
	return ""
}

// resolverScheme is the X-Forwarded-Proto the resolver is sent: the scheme of
// the Authgear origin when the configuration names one (resolverHost with a
// scheme, or resolverURL when resolverHost is not set); for a bare
// resolverHost, the scheme the client used, as Traefik set it.
func resolverScheme(req *http.Request, s *settings) string {
	if s.resolverScheme != "" {
		return s.resolverScheme
	}
	if proto := req.Header.Get("X-Forwarded-Proto"); proto == "http" || proto == "https" {
		return proto
	}
	if req.TLS != nil {
		return "https"
	}
	return "http"
}
