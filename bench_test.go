package authgear

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

// The per-request path, piece by piece, on a request as Traefik hands it on.
// `go test -bench .` against `tools/yaegi-test.sh -bench .`: the interpreter's cost.

// benchRequest returns a request with the headers a browser and Traefik send.
func benchRequest() *http.Request {
	req := httptest.NewRequest(http.MethodGet, "http://api.example.test/things/42?x=1", nil)
	for _, kv := range [][2]string{
		{"User-Agent", "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36"},
		{"Accept", "application/json"}, {"Accept-Encoding", "gzip, deflate, br"}, {"Accept-Language", "en-US,en;q=0.9"},
		{"Cookie", "_ga=GA1.2.1234567890.1700000000; session=bench-session-cookie-value-0123456789abcdef; theme=dark"},
		{"X-Forwarded-For", "203.0.113.9"}, {"X-Forwarded-Host", "api.example.test"}, {"X-Forwarded-Port", "443"},
		{"X-Forwarded-Proto", "https"}, {"X-Forwarded-Server", "traefik-1"}, {"X-Real-Ip", "203.0.113.9"},
	} {
		req.Header.Set(kv[0], kv[1])
	}
	return req
}

// benchAnswer is a full valid-session answer.
func benchAnswer(s *settings) *answer {
	h := http.Header{
		"X-Authgear-Session-Valid": {"true"}, "X-Authgear-User-Id": {"7b0f6c42-1a6e-4d0e-9c53-2c1f0f6f5b1e"},
		"X-Authgear-User-Anonymous": {"false"}, "X-Authgear-User-Verified": {"true"}, "X-Authgear-User-Can-Reauthenticate": {"true"},
		"X-Authgear-User-Roles": {"admin,editor"}, "X-Authgear-Session-Amr": {"pwd otp"}, "X-Authgear-Session-Authenticated-At": {"1764380000"},
	}
	return newAnswer(h)
}

// benchMiddleware returns a middleware whose cache already holds the
// answer for benchRequest's credentials.
func benchMiddleware(b *testing.B) (*Middleware, *http.Request) {
	return benchMiddlewareWith(b, nil)
}

// benchMiddlewareWith is benchMiddleware with its options edited.
func benchMiddlewareWith(b *testing.B, edit func(*Config)) (*Middleware, *http.Request) {
	m := newMiddleware(b, "bench-"+b.Name(), edit)
	req := benchRequest()
	key := credentialKey(req, m.cookies)
	if j := m.cache.join(key, time.Now().UnixNano(), 0, time.Second, &servedCounts{}); j.leader {
		m.cache.finish(key, j.cl, &callResult{ans: benchAnswer(m.settings), returned: true}, time.Now().UnixNano())
	}
	return m, req
}

func BenchmarkServeHTTPCacheHit(b *testing.B) {
	m, req := benchMiddleware(b)
	benchServeHTTP(b, m, req)
}

func BenchmarkServeHTTPCacheHitAssertion(b *testing.B) {
	m, req := benchMiddlewareWith(b, func(c *Config) { c.JWTAssertion = true })
	benchServeHTTP(b, m, req)
}

func BenchmarkServeHTTPAnonymous(b *testing.B) {
	m, req := benchMiddleware(b)
	req.Header.Del("Cookie")
	benchServeHTTP(b, m, req)
}

// benchServeHTTP serves req b.N times, each time with fresh headers.
func benchServeHTTP(b *testing.B, m *Middleware, req *http.Request) {
	base := req.Header
	w := httptest.NewRecorder()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		req.Header = base.Clone()
		m.ServeHTTP(w, req)
	}
}

func BenchmarkHeaderClone(b *testing.B) {
	req := benchRequest()
	base := req.Header
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		req.Header = base.Clone()
	}
}

func BenchmarkStripIdentityHeaders(b *testing.B) {
	req := benchRequest()
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		stripIdentityHeaders(req)
	}
}

func BenchmarkCredentialKey(b *testing.B) {
	m, req := benchMiddleware(b)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		credentialKey(req, m.cookies)
	}
}

func BenchmarkCacheLookupHit(b *testing.B) {
	m, req := benchMiddleware(b)
	key := credentialKey(req, m.cookies)
	c := m.cache
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		c.join(key, time.Now().UnixNano(), 0, time.Second, &servedCounts{})
	}
}

func BenchmarkApplyIdentity(b *testing.B) {
	m, req := benchMiddleware(b)
	a := benchAnswer(m.settings)
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		applyIdentity(req.Header, a)
	}
}
