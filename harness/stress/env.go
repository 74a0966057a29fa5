package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/traefik-authgear/traefik-authgear/harness/internal/harness"
	"github.com/traefik-authgear/traefik-authgear/harness/internal/stack"
	"github.com/traefik-authgear/traefik-authgear/harness/internal/standin"
)

// env is a part's stack (internal/stack, its backend reporting the identity
// it received), the oracle of the identities due, and a watch on Traefik's output.
type env struct {
	*stack.Stack
	identity oracle
	logs     *logWatch
	// tlsURL is the "websecure" entrypoint's URL (TLS, HTTP/2 by ALPN).
	tlsURL string
}

// startEnv starts a stack with Traefik options t and mws, each routed at
// /<name>/ on the plain and the TLS entrypoint (and stack.PlainRoute).
func startEnv(t harness.Options, mws ...stack.Middleware) (*env, error) {
	cfg, err := stack.Users()
	if err != nil {
		return nil, err
	}
	addr, err := harness.FreeAddr()
	if err != nil {
		return nil, err
	}
	e := &env{identity: newOracle(cfg), logs: &logWatch{}, tlsURL: "https://" + addr}
	t.EntryPoints, t.Output = map[string]string{"websecure": addr}, e.logs
	e.Stack, err = stack.Start(context.Background(), stack.Options{Middlewares: mws, Routes: routes(mws), Users: &cfg, Backend: reportIdentity, Traefik: t})
	return e, err
}

// routes are stack.DefaultRoutes, each on both entrypoints.
func routes(mws []stack.Middleware, extra ...stack.Route) []stack.Route {
	var out []stack.Route
	for _, r := range stack.DefaultRoutes(mws) {
		plain := r
		plain.EntryPoints = []string{"web"}
		r.EntryPoints, r.TLS = []string{"websecure"}, true
		out = append(out, plain, r)
	}
	return append(out, extra...)
}

// rss returns Traefik's resident memory, 0 when it cannot be read.
func (e *env) rss() int64 {
	n, _ := e.Traefik.RSS()
	return n
}

// health records whether Traefik is still running and logged no panic.
func (e *env) health(rep *report, part string) {
	panics := e.logs.panicLines()
	rep.check(part, "panics in Traefik's log", panics.String(), "0", panics.n == 0)
	select {
	case <-e.Traefik.Exited():
		rep.check(part, "Traefik still running at the end", "no: it exited", "yes", false)
	default:
	}
}

// newClient returns a client over t without redirects, proxy or cookie jar.
func newClient(t *http.Transport) *http.Client {
	return &http.Client{Timeout: 15 * time.Second, Transport: t,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// h1Client speaks HTTP/1.1 on up to conns kept-alive connections.
func h1Client(conns int) *http.Client {
	return newClient(&http.Transport{MaxIdleConns: conns, MaxIdleConnsPerHost: conns, MaxConnsPerHost: conns,
		IdleConnTimeout: 30 * time.Second, DisableCompression: true})
}

// runtimeStats is harness.ReadRuntimeStats of the env's Traefik (with harness.DebugAPI).
func (e *env) runtimeStats() (harness.RuntimeStats, error) {
	return harness.ReadRuntimeStats(context.Background(), e.Traefik.AdminAddr)
}

func statsText(r harness.RuntimeStats) string {
	return fmt.Sprintf("%s live heap, %s goroutines", mib(r.HeapAlloc), count(r.Goroutines))
}

// logWatch receives Traefik's output and counts the lines that mention a
// panic (Traefik's recovery middleware logs "Recovered from panic in HTTP
// handler" at ERROR, and a crash prints "panic:"), and keeps the plugin's
// last cache size report (logged at DEBUG level from its stdout).
type logWatch struct {
	mu          sync.Mutex
	partial     string // the unfinished last line
	panics      tally
	cacheReport []string // cacheReportLine's submatches
}

// cacheReportLine matches the plugin's cache size report, e.g.
// `authgear middleware "flood": cache holds 10000 entries (max 10000, 3 protected) after
// 1000000 insertions, 990000 evicted to make room`.
var cacheReportLine = regexp.MustCompile(`cache holds (\d+) entries \(max (\d+)(?:, \d+ protected)?\) after (\d+) insertions, (\d+) evicted`)

// Write implements io.Writer.
func (w *logWatch) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	lines := strings.Split(w.partial+string(p), "\n")
	if w.partial = lines[len(lines)-1]; len(w.partial) > 64<<10 { // a very long line: judge what we have
		w.partial = ""
	} else {
		lines = lines[:len(lines)-1]
	}
	for _, l := range lines {
		if m := cacheReportLine.FindStringSubmatch(l); m != nil {
			w.cacheReport = m
		}
		if strings.Contains(strings.ToLower(l), "panic") {
			w.panics.add(l[:min(len(l), 300)])
		}
	}
	return len(p), nil
}

// panicLines returns the lines that mentioned a panic so far.
func (w *logWatch) panicLines() tally {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.panics
}

// lastCacheReport returns the plugin's last cache size report: entries, max
// entries, insertions and evictions; ok is false when there was none.
func (w *logWatch) lastCacheReport() (figures [4]int64, ok bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.cacheReport == nil {
		return figures, false
	}
	for i := range figures {
		figures[i], _ = strconv.ParseInt(w.cacheReport[i+1], 10, 64)
	}
	return figures, true
}

// Response headers the backend adds for the client's checks.
const (
	hdrBackend  = "X-Stress-Backend"  // "1" on every answer of the backend
	hdrIdentity = "X-Stress-Identity" // identitySummary of what it received
)

// reportIdentity wraps the echo backend: it reads the request body (so that
// trailers arrive), then reports in X-Stress-Identity every identity header
// and trailer it received, in the way a CGI-style backend reads names.
func reportIdentity(echo http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, io.LimitReader(r.Body, 4<<20))
		w.Header().Set(hdrBackend, "1")
		w.Header().Set(hdrIdentity, identitySummary(r.Header, r.Trailer))
		echo.ServeHTTP(w, r)
	})
}

// identitySummary renders every header and trailer a backend that
// lower-cases names and reads "_" as "-" (CGI, WSGI, PHP, Rack) reads as
// x-authgear-*, so normalised, escaped, sorted and ";"-joined: two requests got
// the same identity exactly when their summaries are equal.
func identitySummary(h, trailer http.Header) string {
	var parts []string
	for prefix, hs := range map[string]http.Header{"": h, "trailer:": trailer} {
		for name, vs := range hs {
			if n := strings.ReplaceAll(strings.ToLower(name), "_", "-"); strings.HasPrefix(n, "x-authgear-") {
				// NUL-joined, then escaped: different lists stay different.
				parts = append(parts, prefix+n+"="+url.QueryEscape(strings.Join(vs, "\x00")))
			}
		}
	}
	sort.Strings(parts)
	return strings.Join(parts, ";")
}

// oracle answers "what identity must the backend see for these request
// headers": the summary of the identity headers the stand-in issues for
// exactly these headers, asked in process, as the plugin forwards them.
type oracle func(h http.Header) string

func newOracle(cfg standin.Config) oracle {
	r := standin.New(cfg)
	return func(h http.Header) string {
		req := httptest.NewRequest(http.MethodGet, "http://"+stack.PublicHost+standin.PathResolve, nil)
		req.Header = h.Clone()
		req.Header.Set("X-Forwarded-Host", stack.PublicHost)
		rec := httptest.NewRecorder()
		r.ServeHTTP(rec, req)
		return identitySummary(rec.Header(), nil)
	}
}

// credential is one way a client presents credentials, with the identity
// the backend must get for it.
type credential struct {
	name   string
	header http.Header
	want   string // identity summary
}

// job is a GET of url with c, which must get 200 with c's identity.
func (c credential) job(url string) job {
	return job{req: get(url, c.header), want: c.want, status: http.StatusOK}
}

// knownCredentials returns every credential source of the users, a stale
// session, and no credential at all.
func knownCredentials(o oracle) []credential {
	list := []struct{ name, header, value string }{
		{"alice session", "Cookie", "session=alice-session"}, {"alice app_session", "Cookie", "app_session=alice-app-session"},
		{"alice app_access_token", "Cookie", "app_access_token=alice-app-token"}, {"alice bearer", "Authorization", "Bearer alice-token"},
		{"bob session", "Cookie", "session=bob-session"}, {"bob bearer", "Authorization", "bearer bob-token"},
		{"carol session", "Cookie", "session=carol-session"}, {"anon session", "Cookie", "session=anon-session"},
		{"stale session", "Cookie", "session=stale-session"}, {"invalid bearer", "Authorization", "Bearer nobody-token"},
		{"no credential", "Accept", "*/*"},
	}
	out := make([]credential, 0, len(list))
	for _, c := range list {
		h := http.Header{c.header: {c.value}}
		out = append(out, credential{name: c.name, header: h, want: o(h)})
	}
	return out
}

// job is one request of a load run and what its answer must show: the
// identity summary the backend must report, and the status (0: any).
type job struct {
	req    *http.Request
	want   string
	status int
}

// loadSpec describes a load run: jobs from, from+1, ... until max (0: no
// limit), for duration, or until stop is set, whichever comes first; at a
// fixed rate (requests per second; 0: as fast as the workers go), job i is
// due (i-from)/rate seconds after the start.
type loadSpec struct {
	client        *http.Client
	workers, rate int
	from, max     int64
	duration      time.Duration
	next          func(i int64) job
	stop          *atomic.Bool
}

// loadResult is what load runs saw.
type loadResult struct {
	mu             sync.Mutex
	requests, late int64 // late: sent over 10 ms after their time
	statuses       map[int]int64
	// identity: a wrong identity at the backend; status: not the job's.
	identity, status tally
	slowest, elapsed time.Duration
}

func (r *loadResult) rate() float64   { return float64(r.requests) / max(r.elapsed.Seconds(), 1e-9) }
func (r *loadResult) failures() int64 { return r.identity.n + r.status.n }

// runLoad runs a bounded load and returns what it saw.
func runLoad(spec loadSpec) *loadResult { return (&loadResult{statuses: map[int]int64{}}).run(spec) }

// run adds a run of spec to r.
func (r *loadResult) run(spec loadSpec) *loadResult {
	start := time.Now()
	end := start.Add(spec.duration)
	var counter atomic.Int64
	counter.Store(spec.from)
	var wg sync.WaitGroup
	for range spec.workers {
		wg.Go(func() {
			for {
				i := counter.Add(1) - 1
				due := start
				if spec.rate > 0 {
					due = start.Add(time.Duration(i-spec.from) * time.Second / time.Duration(spec.rate))
				}
				if spec.max > 0 && i >= spec.max || !due.Before(end) {
					return
				}
				if time.Sleep(time.Until(due)); time.Now().After(end) || spec.stop != nil && spec.stop.Load() {
					return
				}
				r.do(spec.client, spec.next(i), spec.rate > 0 && time.Since(due) > 10*time.Millisecond)
			}
		})
	}
	wg.Wait()
	r.elapsed += time.Since(start)
	return r
}

// do sends one request and checks its answer.
func (r *loadResult) do(c *http.Client, j job, late bool) {
	start := time.Now()
	a := answerOf(c.Do(j.req))
	r.mu.Lock()
	defer r.mu.Unlock()
	r.requests++
	r.statuses[a.status]++
	r.slowest = max(r.slowest, time.Since(start))
	if late {
		r.late++
	}
	if j.status != 0 && a.status != j.status {
		r.status.add(fmt.Sprintf("%s %s: %d %s, want %d", j.req.Method, j.req.URL.Path, a.status, a.err, j.status))
	}
	if a.backend && a.identity != j.want {
		r.identity.add(fmt.Sprintf("%s %s: backend saw %q, want %q", j.req.Method, j.req.URL.Path, a.identity, j.want))
	}
}

func one(client *http.Client, j job) *loadResult {
	return runLoad(loadSpec{client: client, workers: 1, max: 1, duration: time.Minute, next: func(int64) job { return j }})
}

// background runs spec until the returned function is called, which
// returns what it saw.
func background(spec loadSpec) func() *loadResult {
	done := make(chan *loadResult, 1)
	spec.stop = &atomic.Bool{}
	go func() { done <- runLoad(spec) }()
	return func() *loadResult {
		spec.stop.Store(true)
		return <-done
	}
}

// statusTransportError stands for "no HTTP answer" in status counts.
const statusTransportError = -1

// answer is what a client got: the status, and what the backend reported
// when the request reached it.
type answer struct {
	status   int // statusTransportError when there was no HTTP answer
	backend  bool
	identity string
	err      string
}

// answerOf reads and closes resp.
func answerOf(resp *http.Response, err error) answer {
	if err != nil {
		return answer{status: statusTransportError, err: err.Error()}
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	resp.Body.Close()
	return answer{status: resp.StatusCode, backend: resp.Header.Get(hdrBackend) == "1", identity: resp.Header.Get(hdrIdentity)}
}

// rawMessage writes an HTTP/1.1 request byte for byte: header lines as given,
// "Connection: close", and when chunked a chunked body, then the trailer lines.
func rawMessage(method, path, host string, lines []string, chunked bool, trailers []string) []byte {
	head, body := append([]string{method + " " + path + " HTTP/1.1", "Host: " + host}, lines...), ""
	if chunked {
		head = append(head, "Transfer-Encoding: chunked")
		body = strings.Join(slices.Concat([]string{"5", "hello", "0"}, trailers, []string{"", ""}), "\r\n")
	}
	return []byte(strings.Join(append(head, "Connection: close", "", ""), "\r\n") + body)
}

// sendRaw sends msg on a new connection to addr and reads the answer.
func sendRaw(addr string, msg []byte) answer {
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return answer{status: statusTransportError, err: err.Error()}
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(20 * time.Second))
	// Write in the background: Traefik may answer (431, 400) and close
	// before reading a large request to the end.
	go func() { _, _ = conn.Write(msg) }()
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	return answerOf(resp, err)
}

// get returns a GET request for url (ours) with the given headers.
func get(url string, h http.Header) *http.Request {
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	maps.Copy(req.Header, h)
	return req
}
