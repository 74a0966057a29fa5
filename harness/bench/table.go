package main

import (
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/traefik-authgear/traefik-authgear/harness/internal/harness"
	"github.com/traefik-authgear/traefik-authgear/harness/internal/stack"
	"github.com/traefik-authgear/traefik-authgear/harness/internal/standin"
)

// phase is the table at one resolver latency.
type phase struct {
	latency time.Duration
	rows    map[string]*rowResult
}

// pauseBetweenRuns lets the proxies settle, so that no run pays for the one before.
const pauseBetweenRuns = 500 * time.Millisecond

// measurePhase warms every row up at the latency, then runs o.reps rounds.
func measurePhase(ctx context.Context, p *proxies, ctl resolverCtl, w *wrkRunner, o options, latency time.Duration, log io.Writer) (*phase, error) {
	if err := ctl.setLatency(ctx, latency); err != nil {
		return nil, err
	}
	samples := map[string][]sample{}
	for r := -1; r < o.reps; r++ {
		if r < 0 && o.warmup == 0 {
			continue
		}
		for _, name := range roundOrder(max(r, 0)) {
			d, tag := o.duration, fmt.Sprintf("[resolver +%s] round %d/%d", fmtLatency(latency), r+1, o.reps)
			if r < 0 {
				d, tag = o.warmup, fmt.Sprintf("[resolver +%s] warm-up", fmtLatency(latency))
			}
			s, err := timedRun(ctx, p, ctl, w, d, specOf(name))
			if err != nil {
				return nil, err
			}
			if r >= 0 {
				samples[name] = append(samples[name], s)
			}
			fmt.Fprintf(log, "%s %-22s %9s req/s  p50 %8s  p99 %8s  calls/req %s  errors %d\n", tag, name, fmtInt(s.res.RPS()),
				fmtMS(s.res.P50US), fmtMS(s.res.P99US), fmtCalls(float64(s.calls)/float64(s.res.Requests)), s.res.Errors)
			select {
			case <-ctx.Done():
				return nil, ctx.Err()
			case <-time.After(pauseBetweenRuns):
			}
		}
	}
	ph := &phase{latency: latency, rows: map[string]*rowResult{}}
	for name, ss := range samples {
		ph.rows[name] = summarize(ss)
	}
	setRatios(ph.rows)
	return ph, nil
}

// timedRun runs wrk on a row for d with the resolver calls and CPU time it cost.
func timedRun(ctx context.Context, p *proxies, ctl resolverCtl, w *wrkRunner, d time.Duration, s rowSpec) (sample, error) {
	var res wrkResult
	var cpu time.Duration
	calls, err := ctl.during(ctx, func() error {
		cpu0, err := treeCPU(p.pid[s.ep])
		if err != nil {
			return err
		}
		if res, err = w.run(ctx, p.base[s.ep]+"/small", d, s); err != nil {
			return fmt.Errorf("row %s: %w", s.name, err)
		}
		cpu1, err := treeCPU(p.pid[s.ep])
		cpu = cpu1.since(cpu0)
		return err
	})
	return sample{res: res, calls: calls, cpu: cpu}, err
}

// sample is one timed run of one row.
type sample struct {
	res   wrkResult
	calls int64         // resolver calls during the run
	cpu   time.Duration // the proxy's CPU time during the run
}

type figure func(sample) float64

var (
	figRPS figure = func(s sample) float64 { return s.res.RPS() }
	figP50 figure = func(s sample) float64 { return s.res.P50US }
	figP99 figure = func(s sample) float64 { return s.res.P99US }
)

// rowResult sums up the runs of one row at one resolver latency.
type rowResult struct {
	samples                          []sample
	rps, p50US, p99US                float64 // medians over the runs
	callsPerRequest, cpuPerRequestUS float64 // over all the runs' requests; CPU in µs
	errors                           int64   // failed requests in all runs
	ratio                            float64 // rps over the own bare row's, per round (pairedRatio); NaN when unknown
}

func summarize(samples []sample) *rowResult {
	r := &rowResult{samples: samples, ratio: math.NaN()}
	var rps, p50, p99 []float64
	var calls, requests int64
	var cpu time.Duration
	for _, s := range samples {
		rps, p50, p99 = append(rps, figRPS(s)), append(p50, figP50(s)), append(p99, figP99(s))
		calls, cpu, requests, r.errors = calls+s.calls, cpu+s.cpu, requests+s.res.Requests, r.errors+s.res.Errors
	}
	r.rps, r.p50US, r.p99US = median(rps), median(p50), median(p99)
	if requests > 0 {
		r.callsPerRequest = float64(calls) / float64(requests)
		r.cpuPerRequestUS = float64(cpu.Microseconds()) / float64(requests)
	}
	return r
}

// setRatios fills in each row's throughput ratio to its own proxy's bare row.
func setRatios(rows map[string]*rowResult) {
	for name, r := range rows {
		if bare := rows[specOf(name).bareRow()]; bare != nil {
			r.ratio, _, _ = pairedRatio(r, bare, figRPS)
		}
	}
}

// pairedRatio returns the median, lowest and highest of a's figure over b's
// per round (a drift of the load cancels out); NaN when rounds do not pair.
func pairedRatio(a, b *rowResult, f figure) (med, lo, hi float64) {
	var ratios []float64
	for i := range a.samples {
		if i < len(b.samples) && f(b.samples[i]) > 0 {
			ratios = append(ratios, f(a.samples[i])/f(b.samples[i]))
		}
	}
	if len(ratios) == 0 || len(a.samples) != len(b.samples) {
		return math.NaN(), math.NaN(), math.NaN()
	}
	return median(ratios), slices.Min(ratios), slices.Max(ratios)
}

// median returns the median of xs (NaN for none).
func median(xs []float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	s := slices.Sorted(slices.Values(xs))
	m := len(s) / 2
	if len(s)%2 == 1 {
		return s[m]
	}
	return (s[m-1] + s[m]) / 2
}

// slowLatency is the resolver latency of the slow-resolver targets.
const slowLatency = 20 * time.Millisecond

// goal is what a set of targets asks of the plugin, as the report names it.
type goal string

// The goals of the targets.
const (
	// nearFloor: a hit costs little more than the interpreter's floor, a
	// trivial Yaegi plugin.
	nearFloor goal = "near the interpreter's floor"
	// beatProxies: the plugin holds its own against bare Traefik,
	// ForwardAuth and nginx auth_request, in throughput, calls and memory.
	beatProxies goal = "against other proxies"
)

// verdict is one target with what was measured.
type verdict struct {
	goal     goal // what the target is for
	target   string
	measured string
	status   string // PASS, MISS, info, or n/a when not measured
}

// pairCheck compares rows a and b of a phase; name formats a, b and the latency.
type pairCheck struct {
	name    string
	measure func(a, b *rowResult) (measured, status string)
}

// throughput wants a ≥ want × b throughput, per round.
func throughput(want float64) pairCheck {
	return pairCheck{fmt.Sprintf("%%s ≥ %.2f × %%s throughput (%%s)", want), func(a, b *rowResult) (string, string) {
		med, lo, hi := pairedRatio(a, b, figRPS)
		return fmt.Sprintf("%.2f × per round (%.2f–%.2f; medians %s vs %s req/s)", med, lo, hi, fmtInt(a.rps), fmtInt(b.rps)), passMiss(med >= want)
	}}
}

// p50Within wants a's p50 at most slack above b's, per round.
func p50Within(slack float64) pairCheck {
	return pairCheck{fmt.Sprintf("%%s p50 within %.0f %%%% of %%s's (%%s)", slack*100), func(a, b *rowResult) (string, string) {
		med, _, _ := pairedRatio(a, b, figP50)
		return fmt.Sprintf("%+.0f %% (%s vs %s)", (med-1)*100, fmtMS(a.p50US), fmtMS(b.p50US)), passMiss(med-1 <= slack)
	}}
}

var (
	p99Beside = pairCheck{"%s p99 beside %s's (%s; reported, no target)", func(a, b *rowResult) (string, string) {
		return fmt.Sprintf("%s vs %s", fmtMS(a.p99US), fmtMS(b.p99US)), "info"
	}}
	p99UnderP50 = pairCheck{"%s p99 < %s p50 (%s)", func(a, b *rowResult) (string, string) {
		return fmt.Sprintf("%s vs %s", fmtMS(a.p99US), fmtMS(b.p50US)), passMiss(a.p99US < b.p50US)
	}}
	ratioOverRatio = pairCheck{"%s's ratio to traefik-bare ≥ %s's ratio to nginx-bare (%s)", func(a, b *rowResult) (string, string) {
		if math.IsNaN(a.ratio) || math.IsNaN(b.ratio) {
			return "", ""
		}
		return fmt.Sprintf("%.2f vs %.2f", a.ratio, b.ratio), passMiss(a.ratio >= b.ratio)
	}}
)

// pairTargets are the targets that compare two rows: the plugin against
// the trivial plugin (nearFloor), and against the other proxies.
var pairTargets = []struct {
	goal    goal
	latency time.Duration
	a, b    string
	check   pairCheck
}{
	{nearFloor, 0, "plugin-hit", "trivial-plugin", throughput(0.95)},
	{nearFloor, 0, "plugin-hit-browser", "trivial-plugin-browser", throughput(0.95)},
	{nearFloor, 0, "plugin-hit-browser", "traefik-bare-browser", throughput(0.90)},
	{nearFloor, 0, "plugin-anon", "trivial-plugin", throughput(0.97)},
	{nearFloor, 0, "plugin-anon-browser", "trivial-plugin-browser", throughput(0.97)},
	{nearFloor, 0, "plugin-revalidating", "trivial-plugin", throughput(0.95)},
	{nearFloor, slowLatency, "plugin-hit", "trivial-plugin", throughput(0.95)},
	{nearFloor, slowLatency, "plugin-revalidating", "trivial-plugin", throughput(0.95)},
	{nearFloor, 0, "plugin-hit", "trivial-plugin", p50Within(0.10)},
	{nearFloor, 0, "plugin-revalidating", "plugin-hit", p99Beside},
	{beatProxies, 0, "plugin-hit", "traefik-bare", throughput(0.90)},
	{beatProxies, 0, "plugin-hit", "traefik-bare", p50Within(0.10)},
	{beatProxies, 0, "plugin-hit", "forwardauth", throughput(3)},
	{beatProxies, slowLatency, "plugin-hit", "forwardauth", p99UnderP50},
	{beatProxies, 0, "plugin-hit", "nginx-auth-cache", ratioOverRatio},
}

// Targets against the other proxies beside the table.
const (
	targetBurstCalls    = 1    // resolver calls for a burst with one new credential
	targetBytesPerEntry = 1024 // memory per cached session, RSS and live heap
)

// evaluate checks every target against what was measured.
func evaluate(phases []*phase, bursts []burstResult, mem *memResult) []verdict {
	var out []verdict
	add := func(g goal, target, measured, status string) {
		if status == "" {
			measured, status = "not measured", "n/a"
		}
		out = append(out, verdict{g, target, measured, status})
	}
	for _, t := range pairTargets {
		measured, status := "", ""
		for _, p := range phases {
			if a, b := p.rows[t.a], p.rows[t.b]; p.latency == t.latency && a != nil && b != nil {
				measured, status = t.check.measure(a, b)
			}
		}
		add(t.goal, fmt.Sprintf(t.check.name, t.a, t.b, fmtLatency(t.latency)), measured, status)
	}
	var measured []string
	burstStatus, memMeasured, memStatus := "", "", ""
	for _, b := range bursts {
		if b.row == "plugin-hit" {
			burstStatus = passMiss(burstStatus != "MISS" && b.calls == targetBurstCalls && b.ok == b.requests)
			measured = append(measured, fmt.Sprintf("%d at %s", b.calls, fmtLatency(b.latency)))
		}
	}
	if mem != nil {
		rss, heap := mem.perEntry()
		memMeasured, memStatus = fmtBytes(rss)+" RSS, "+fmtBytes(heap)+" live heap", passMiss(rss <= targetBytesPerEntry && heap <= targetBytesPerEntry)
	}
	add(beatProxies, fmt.Sprintf("%d resolver call for a burst with one new credential", targetBurstCalls), strings.Join(measured, ", "), burstStatus)
	add(beatProxies, "≤ 1 KiB of memory per cached session (RSS and live heap)", memMeasured, memStatus)
	return out
}

func passMiss(ok bool) string {
	if ok {
		return "PASS"
	}
	return "MISS"
}

var (
	//go:embed lua/report.lua
	reportLua string
	//go:embed lua/fresh.lua
	freshLua string
)

// resultPrefix starts the line that lua/report.lua prints.
const resultPrefix = "BENCH-RESULT "

// wrkResult is one wrk run's summary as lua/report.lua prints it.
type wrkResult struct {
	Requests   int64   `json:"requests"`
	DurationUS int64   `json:"duration_us"`
	P50US      float64 `json:"p50_us"`
	P99US      float64 `json:"p99_us"`
	Errors     int64   `json:"errors"` // socket errors, timeouts and answers with an error status
}

// RPS returns requests per second.
func (r wrkResult) RPS() float64 {
	if r.DurationUS <= 0 {
		return 0
	}
	return float64(r.Requests) / (float64(r.DurationUS) / 1e6)
}

// parseWrkOutput finds lua/report.lua's line in wrk's output.
func parseWrkOutput(out string) (wrkResult, error) {
	var r wrkResult
	for line := range strings.Lines(out) {
		if rest, ok := strings.CutPrefix(strings.TrimSpace(line), resultPrefix); ok {
			if err := json.Unmarshal([]byte(rest), &r); err != nil {
				return r, fmt.Errorf("wrk result line %q: %w", rest, err)
			}
			if r.Requests == 0 {
				return r, errors.New("wrk made no request")
			}
			return r, nil
		}
	}
	return r, errors.New("wrk printed no result line (is the Lua script loaded?)")
}

// wrkRunner runs wrk with fixed threads and connections and its Lua scripts.
type wrkRunner struct {
	threads, connections int
	report, fresh        string // script paths
	runs                 int    // wrk runs so far: the fresh script's run id
}

func newWrkRunner(dir string, threads, connections int) (*wrkRunner, error) {
	w := &wrkRunner{threads: threads, connections: connections, report: filepath.Join(dir, "report.lua"), fresh: filepath.Join(dir, "fresh.lua")}
	if err := os.WriteFile(w.report, []byte(reportLua), 0o644); err != nil {
		return nil, err
	}
	return w, os.WriteFile(w.fresh, []byte(reportLua+"\n"+freshLua), 0o644)
}

// browserHeaders are the dozen headers a Chromium browser sends with a page load.
var browserHeaders = []string{
	"User-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
	"Accept: text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8",
	"Accept-Language: en-GB,en;q=0.9,fr;q=0.8",
	"Accept-Encoding: gzip, deflate, br, zstd",
	"Referer: https://app.example.com/dashboard",
	"Sec-Fetch-Dest: document", "Sec-Fetch-Mode: navigate", "Sec-Fetch-Site: same-origin", "Sec-Fetch-User: ?1",
	`Sec-Ch-Ua: "Chromium";v="131", "Not_A Brand";v="24"`, "Sec-Ch-Ua-Mobile: ?0", `Sec-Ch-Ua-Platform: "Linux"`,
	"Upgrade-Insecure-Requests: 1",
	"Cache-Control: max-age=0",
}

// wrkSeconds rounds d up to whole seconds (at least one) for wrk's -d.
func wrkSeconds(d time.Duration) int { return max(1, int((d+time.Second-1)/time.Second)) }

// run drives url for d with the requests of row s and returns wrk's summary.
func (w *wrkRunner) run(ctx context.Context, url string, d time.Duration, s rowSpec) (wrkResult, error) {
	w.runs++
	secs := wrkSeconds(d)
	args := []string{"-t", strconv.Itoa(w.threads), "-c", strconv.Itoa(w.connections), "-d", strconv.Itoa(secs) + "s", "--latency", "--timeout", "10s"}
	script := w.report
	if s.cred == freshCookie {
		script = w.fresh
	} else if s.cred != noCredential {
		args = append(args, "-H", "Cookie: "+s.cred)
	}
	if s.browser {
		for _, h := range browserHeaders {
			args = append(args, "-H", h)
		}
	}
	args = append(args, "-s", script, url, "--", fmt.Sprintf("%d-%d", os.Getpid(), w.runs))
	ctx, cancel := context.WithTimeout(ctx, time.Duration(secs)*time.Second+30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "wrk", args...)
	cmd.SysProcAttr = harness.SysProcAttr()
	out, err := cmd.CombinedOutput()
	if ctx.Err() != nil {
		return wrkResult{}, ctx.Err()
	}
	var r wrkResult
	if err == nil {
		r, err = parseWrkOutput(string(out))
	}
	if err != nil {
		return r, fmt.Errorf("wrk %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return r, nil
}

// rowSpec.cred: the bench user's cookie, none, or a new session per request.
const (
	benchCookie  = "session=" + benchSession
	noCredential = ""
	freshCookie  = "<fresh>"
)

// userIdentity stands for the benchmark user's identity in expect.identity.
const userIdentity = "<bench user>"

// expect is what checkRow wants: n requests reach the backend with the
// identity (a fragment of X-Echo-Authgear, "" none) and cost minCalls to
// maxCalls resolver calls in all; with lastFree, the last one costs none;
// the backend gets X-Authgear-Jwt-Assertion exactly when assertion is set.
type expect struct {
	n                  int
	identity           string
	minCalls, maxCalls int64
	lastFree           bool
	assertion          bool
}

var (
	noAuth   = expect{n: 1}                                                            // no identity, no resolver call
	missed   = expect{n: 1, identity: "session-valid=false", minCalls: 1, maxCalls: 1} // the stand-in does not know a new session
	cached   = expect{n: 2, identity: userIdentity, maxCalls: 1, lastFree: true}       // resolved at most once, the second served from the cache
	uncached = expect{n: 2, identity: userIdentity, minCalls: 2, maxCalls: 2}          // resolved every time
	revalid  = expect{n: 2, identity: userIdentity, maxCalls: 2}                       // served at once, at most one background call each
)

// signed is cached with the signed assertion at the backend.
var signed = expect{n: 2, identity: userIdentity, maxCalls: 1, lastFree: true, assertion: true}

// rowSpec says what one row measures.
type rowSpec struct {
	name    string
	ep      string // the Traefik entrypoint or nginx server it is sent to
	nginx   bool   // its own bare row is nginx-bare, not traefik-bare
	cred    string // benchCookie, noCredential or freshCookie
	browser bool   // the dozen headers a browser sends with a page load, too
	expect  expect
	what    string // one line for the legend under the table
}

// rowSpecs are the rows in the table's order.
var rowSpecs = []rowSpec{
	{"traefik-bare", "bare", false, benchCookie, false, noAuth, "Traefik v3.6.12 routing to the backend, no middleware (the limit)"},
	{"trivial-plugin", "trivial", false, benchCookie, false, noAuth, "a trivial Yaegi plugin of the bench's own (`harness/bench/trivialplugin`: sets one request header, calls next), loaded with `localPlugins` beside this one: the interpreter's floor"},
	{"plugin-hit", "hit", false, benchCookie, false, cached, "this plugin, one session cookie, answers served from the cache"},
	{"plugin-hit-assertion", "hitassert", false, benchCookie, false, signed, "plugin-hit with `jwtAssertion: true` (a key generated by the process): every hit also sets the ES256 assertion the answer holds (minted once per answer, not per request)"},
	{"plugin-revalidating", "reval", false, benchCookie, false, revalid, "this plugin, `cacheTTL: 1ms` and `staleWhileRevalidate: 5m`: every hit is past `cacheTTL`, served at once while a background call refreshes it"},
	{"traefik-bare-browser", "bare", false, benchCookie, true, noAuth, "traefik-bare with the dozen headers a browser sends with a page load (User-Agent, Accept, Accept-Language, Accept-Encoding, Referer, Sec-Fetch-*, Sec-Ch-Ua*, Upgrade-Insecure-Requests, Cache-Control)"},
	{"trivial-plugin-browser", "trivial", false, benchCookie, true, noAuth, "trivial-plugin with the browser's headers"},
	{"plugin-hit-browser", "hit", false, benchCookie, true, cached, "plugin-hit with the browser's headers"},
	{"plugin-anon-browser", "anon", false, noCredential, true, noAuth, "plugin-anon with the browser's headers"},
	{"plugin-anon", "anon", false, noCredential, false, noAuth, "this plugin, requests without credentials"},
	{"plugin-miss", "miss", false, freshCookie, false, missed, "this plugin, a new session cookie on every request (wrk Lua script), cache on: one resolver call each (the stand-in answers `x-authgear-session-valid: false` for an unknown session, as Authgear does)"},
	{"plugin-nocache", "nocache", false, benchCookie, false, uncached, "this plugin, `cacheTTL: 0`: no cache, but concurrent requests with the same credential still share one resolver call (hence fewer than 1 call per request under load)"},
	{"forwardauth", "forwardauth", false, benchCookie, false, uncached, "Traefik's ForwardAuth to the same resolver, `authResponseHeadersRegex: ^X-Authgear-`"},
	{"nginx-bare", "nginxbare", true, benchCookie, false, noAuth, "nginx proxying to the backend (upstream keep-alive)"},
	{"nginx-auth-cache", "nginxcache", true, benchCookie, false, cached, "nginx `auth_request` with `proxy_cache` on the auth location (Authgear's docs; key over all four credential inputs)"},
	{"nginx-auth", "nginxauth", true, benchCookie, false, uncached, "nginx `auth_request` without cache"},
}

// cookie is the Cookie header of one request of the row ("" none).
func (s rowSpec) cookie() string {
	if s.cred == freshCookie {
		return fmt.Sprintf("session=check-%d", time.Now().UnixNano())
	}
	return s.cred
}

// bareRow is the row of the same proxy without authentication.
func (s rowSpec) bareRow() string {
	if s.nginx {
		return "nginx-bare"
	}
	return "traefik-bare"
}

// runOrder is one round's order: Traefik and nginx alternate, so drifts hit both.
var runOrder = []string{"traefik-bare", "nginx-bare", "trivial-plugin", "nginx-auth-cache", "plugin-hit", "nginx-auth", "forwardauth", "plugin-hit-assertion",
	"traefik-bare-browser", "trivial-plugin-browser", "plugin-hit-browser", "plugin-anon-browser", "plugin-revalidating", "plugin-anon", "plugin-nocache", "plugin-miss"}

// roundOrder returns the rows of round r (0-based).
func roundOrder(r int) []string {
	out := slices.Clone(runOrder)
	if r%2 == 1 {
		slices.Reverse(out)
	}
	return out
}

// specOf returns the spec of a row name (the zero spec for none).
func specOf(name string) rowSpec {
	if i := slices.IndexFunc(rowSpecs, func(s rowSpec) bool { return s.name == name }); i >= 0 {
		return rowSpecs[i]
	}
	return rowSpec{}
}

const (
	// benchSession is the session every credentialed row sends: a user of
	// testdata/users.json with a full identity (roles, amr, ...).
	benchSession = "alice-session"
	// burstSlots is how many fresh sessions (0 to burstSlots-1) the bursts may
	// use; the memory figure uses the ones after them.
	burstSlots = 32
	// memWarm is how many distinct sessions warm the memory Traefik up.
	memWarm = 2000
)

// session is the i-th generated session, of a user of its own (userID(i)).
func session(i int) string { return fmt.Sprintf("gen-session-%07d", i) }

// userID is the user id of session(i).
func userID(i int) string { return fmt.Sprintf("00000000-0000-4000-8000-%012d", i) }

// usersFile writes users.json plus n users like benchSession's; it returns the path and benchSession's user id.
func usersFile(dir string, n int) (path, benchUserID string, err error) {
	cfg, err := stack.Users()
	if err != nil {
		return "", "", err
	}
	i := slices.IndexFunc(cfg.Users, func(u standin.User) bool { return slices.Contains(u.Sessions, benchSession) })
	if i < 0 {
		return "", "", fmt.Errorf("testdata/users.json has no user with session %q", benchSession)
	}
	model := cfg.Users[i]
	for i := range n {
		u := model
		u.ID, u.Email, u.Sessions = userID(i), "", []string{session(i)}
		u.AppSessions, u.AppAccessTokens, u.BearerTokens = nil, nil, nil
		cfg.Users = append(cfg.Users, u)
	}
	data, err := json.Marshal(cfg)
	path = filepath.Join(dir, "users.json")
	if err == nil {
		err = os.WriteFile(path, data, 0o644)
	}
	return path, model.ID, err
}
