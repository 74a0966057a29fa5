package main

import (
	"bytes"
	"context"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/pprof/profile"

	"github.com/traefik-authgear/traefik-authgear/harness/internal/echo"
	"github.com/traefik-authgear/traefik-authgear/harness/internal/stack"
)

// Frames of the synthetic profiles, as Traefik v3.6.12's real ones name them.
const (
	fServe    = "net/http.(*conn).serve"
	fPlugin   = "github.com/traefik/traefik/v3/pkg/server/middleware.(*traceablePlugin).ServeHTTP"
	fWrapper  = "github.com/traefik/yaegi/stdlib._net_http_Handler.ServeHTTP"
	fGenFunc  = "github.com/traefik/yaegi/interp.genFunctionWrapper.func1.1"
	fCall     = "github.com/traefik/yaegi/interp.call.func9"
	fCallBin  = "github.com/traefik/yaegi/interp.callBin.func2"
	fRefCall  = "reflect.Value.Call"
	fBalancer = "github.com/traefik/traefik/v3/pkg/server/service/loadbalancer/wrr.(*Balancer).ServeHTTP"
	fProxy    = "net/http/httputil.(*ReverseProxy).ServeHTTP"
)

// stackSample is one sample of a synthetic CPU profile: its CPU time and its
// stack from the root (as a trace reads upward); "outer > inner" is one
// location with an inlined call.
type stackSample struct {
	cpu   time.Duration
	stack []string
}

// cpuProfile builds a CPU profile of window as the Go runtime writes one,
// and reads it back as the profile does Traefik's.
func cpuProfile(t *testing.T, window time.Duration, samples ...stackSample) *profile.Profile {
	t.Helper()
	p := &profile.Profile{
		SampleType:    []*profile.ValueType{{Type: "samples", Unit: "count"}, {Type: "cpu", Unit: "nanoseconds"}},
		PeriodType:    &profile.ValueType{Type: "cpu", Unit: "nanoseconds"},
		Period:        int64(10 * time.Millisecond),
		DurationNanos: int64(window),
	}
	funcs := map[string]*profile.Function{}
	fn := func(name string) *profile.Function {
		if funcs[name] == nil {
			funcs[name] = &profile.Function{ID: uint64(len(funcs) + 1), Name: name, SystemName: name}
			p.Function = append(p.Function, funcs[name])
		}
		return funcs[name]
	}
	for _, s := range samples {
		var locs []*profile.Location
		for _, frame := range slices.Backward(s.stack) { // leaf first
			loc := &profile.Location{ID: uint64(len(p.Location) + 1)}
			for _, name := range slices.Backward(strings.Split(frame, " > ")) { // innermost call first
				loc.Line = append(loc.Line, profile.Line{Function: fn(name)})
			}
			p.Location = append(p.Location, loc)
			locs = append(locs, loc)
		}
		p.Sample = append(p.Sample, &profile.Sample{Location: locs, Value: []int64{int64(s.cpu / (10 * time.Millisecond)), int64(s.cpu)}})
	}
	var buf bytes.Buffer
	if err := p.Write(&buf); err != nil {
		t.Fatal(err)
	}
	parsed, err := profile.ParseData(buf.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	return parsed
}

// pluginStack is where Traefik calls the plugin: up to the outermost runCfg.
var pluginStack = []string{fServe, fPlugin, fWrapper, fGenFunc, interpFrame}

// then returns stack followed by more frames.
func then(stack []string, more ...string) []string { return append(slices.Clone(stack), more...) }

// benchProfile is 1.3 s of CPU in a 10 s window: 300 ms of Traefik's own
// work (allocating), 150 ms of GC, 200 ms of interpreted work allocating,
// 500 ms in the next handler, 100 ms of a callback into interpreted code
// under the next handler, and 50 ms in a goroutine of the plugin calling
// an inlined compiled function.
func benchProfile(t *testing.T) *profile.Profile {
	return cpuProfile(t, 10*time.Second,
		stackSample{300 * time.Millisecond, []string{fServe, "net/http.readRequest", mallocFrame}},
		stackSample{150 * time.Millisecond, []string{"runtime.gcBgMarkWorker"}},
		stackSample{200 * time.Millisecond, then(pluginStack, fCall, interpFrame, fCall, "reflect.New", mallocFrame)},
		stackSample{500 * time.Millisecond, then(pluginStack, fCallBin, fRefCall, fBalancer, fProxy, "syscall.Syscall")},
		stackSample{100 * time.Millisecond, then(pluginStack, fCallBin, fRefCall, fBalancer, fGenFunc, interpFrame, fCall)},
		stackSample{50 * time.Millisecond, []string{"runtime.goexit", "github.com/traefik/yaegi/interp.call.func9.2", interpFrame, "net/http.(*Client).Do > net/http.(*Client).do"}},
	)
}

func TestSplitProfile(t *testing.T) {
	s, err := splitProfile(benchProfile(t))
	if err != nil {
		t.Fatal(err)
	}
	ms := time.Millisecond
	got := []time.Duration{s.window, s.whole, s.interp, s.next, s.alloc}
	want := []time.Duration{10 * time.Second, 1300 * ms, 350 * ms, 500 * ms, 500 * ms}
	if !slices.Equal(got, want) || s.samples != 6 {
		t.Errorf("window, whole, interpreted, next, alloc = %v (%d samples), want %v (6 samples)", got, s.samples, want)
	}
	wantCosts := map[string]funcCost{
		fCall:                    {flat: 100 * ms, cum: 300 * ms}, // once per sample though twice in the first stack
		"reflect.New":            {cum: 200 * ms},
		mallocFrame:              {flat: 200 * ms, cum: 200 * ms}, // Traefik's own allocation is not the plugin's
		"net/http.(*Client).do":  {flat: 50 * ms, cum: 50 * ms},   // the inlined call is the leaf
		"net/http.(*Client).Do":  {cum: 50 * ms},
		fCallBin:                 {}, // only above the next handler: not the plugin's
		fBalancer:                {},
		interpFrame:              {}, // opens the plugin's share: left out
		"runtime.gcBgMarkWorker": {},
		"net/http.readRequest":   {},
		"github.com/traefik/yaegi/interp.call.func9.2": {}, // below runCfg: how the goroutine started
	}
	for fn, w := range wantCosts {
		c := s.costs[fn]
		if c == nil {
			c = &funcCost{}
		}
		if *c != w {
			t.Errorf("%s: flat %v cum %v, want flat %v cum %v", fn, c.flat, c.cum, w.flat, w.cum)
		}
	}
	if _, err := splitProfile(&profile.Profile{SampleType: []*profile.ValueType{{Type: "alloc_space", Unit: "bytes"}}, DurationNanos: 1}); err == nil {
		t.Error("a heap profile: no error")
	}
}

func TestOwnerOf(t *testing.T) {
	for _, c := range []struct {
		rootFirst []string
		owner     stackOwner
		from      int // from the root: the index of the frame that opens the owner's part
	}{
		{[]string{fServe, "net/http.readRequest"}, ownerTraefik, -1},
		{then(pluginStack, fCall), ownerPlugin, 4},
		{then(pluginStack, fCall, interpFrame, fCall), ownerPlugin, 4},                            // nested runCfg: still the outer one's
		{then(pluginStack, fCallBin, fRefCall, fBalancer, fProxy), ownerNext, 7},                  // the next handler
		{then(pluginStack, fCallBin, fRefCall, fBalancer, fGenFunc, interpFrame), ownerPlugin, 9}, // a callback
		{[]string{fServe, fPlugin, fWrapper, "net/http.Header.Get"}, ownerTraefik, -1},            // Yaegi's wrapper outside runCfg
		{then(pluginStack, fRefCall, "net/http.HandlerFunc.ServeHTTP"), ownerNext, 6},             // any compiled ServeHTTP
		{then(pluginStack, fRefCall, "github.com/traefik/yaegi/stdlib._net_http_Handler.ServeHTTP"), ownerPlugin, 4},
	} {
		leaf := slices.Clone(c.rootFirst)
		slices.Reverse(leaf)
		owner, from := ownerOf(leaf)
		wantFrom := len(leaf) - 1 - c.from
		if c.from < 0 {
			wantFrom = len(leaf)
		}
		if owner != c.owner || from != wantFrom {
			t.Errorf("%v: owner %d from %d, want %d from %d", c.rootFirst, owner, from, c.owner, wantFrom)
		}
	}
}

// scaledRun is benchProfile's split with wrk's rate rps and p50 over 10 s.
func scaledRun(t *testing.T, rps, p50 float64) profileRun {
	s, err := splitProfile(benchProfile(t))
	if err != nil {
		t.Fatal(err)
	}
	return profileRun{res: wrkResult{Requests: int64(rps * 12), DurationUS: 12e6, P50US: p50, P99US: 2 * p50}, split: s}
}

func TestSummarizeProfile(t *testing.T) {
	runs := []profileRun{scaledRun(t, 1000, 3000), scaledRun(t, 2000, 2000), scaledRun(t, 500, 4000)}
	if n := runs[0].requests(); math.Abs(n-10000) > 1e-6 {
		t.Fatalf("requests in the window = %f, want 1000 req/s × 10 s", n)
	}
	r := summarizeProfile(specOf("plugin-hit"), runs, 3)
	// Per request: 35, 17.5 and 70 µs interpreted; 130, 65 and 260 µs whole.
	got := []float64{r.rps, r.p50US, r.p99US, r.wholeUS, r.interpUS, r.allocShare}
	want := []float64{1000, 3000, 6000, 130, 35, 500.0 / 1300}
	for i := range want {
		if math.Abs(got[i]-want[i]) > 1e-9 {
			t.Errorf("medians (rps, p50, p99, whole, interpreted, alloc share) = %v, want %v", got, want)
			break
		}
	}
	// Summed over the runs: 3 × 300 ms of call.func9 over 35,000 requests.
	wantTop := []topCost{
		{fn: fCall, flatUS: 300e3 / 35000, cumUS: 900e3 / 35000, share: 300.0 / 350},
		{fn: mallocFrame, flatUS: 600e3 / 35000, cumUS: 600e3 / 35000, share: 200.0 / 350},
		{fn: "reflect.New", cumUS: 600e3 / 35000, share: 200.0 / 350},
	}
	if len(r.top) != len(wantTop) {
		t.Fatalf("top = %+v, want %+v", r.top, wantTop)
	}
	for i, w := range wantTop {
		g := r.top[i]
		if g.fn != w.fn || math.Abs(g.flatUS-w.flatUS) > 1e-9 || math.Abs(g.cumUS-w.cumUS) > 1e-9 || math.Abs(g.share-w.share) > 1e-9 {
			t.Errorf("top[%d] = %+v, want %+v (by cum, then flat)", i, g, w)
		}
	}
	if empty := summarizeProfile(specOf("traefik-bare"), nil, 3); !math.IsNaN(empty.interpUS) || empty.top != nil {
		t.Errorf("no run: %+v", empty)
	}
}

func TestPairedProfileRatio(t *testing.T) {
	a := &profileRow{runs: []profileRun{scaledRun(t, 1000, 1), scaledRun(t, 2000, 1), scaledRun(t, 1000, 1)}}
	b := &profileRow{runs: []profileRun{scaledRun(t, 500, 1), scaledRun(t, 1000, 1), scaledRun(t, 4000, 1)}}
	med, lo, hi := pairedProfileRatio(a, b, profInterp)
	if med != 0.5 || lo != 0.5 || hi != 4 {
		t.Errorf("interpreted ratio per round = %v (%v–%v), want 0.5 (0.5–4)", med, lo, hi)
	}
	if med, _, _ := pairedProfileRatio(a, &profileRow{runs: b.runs[:2]}, profRPS); !math.IsNaN(med) {
		t.Errorf("rounds that do not pair: %v, want NaN", med)
	}
}

func TestSpliceProfileSection(t *testing.T) {
	section := profileHeading + "\n\nnew\n"
	oldSection := profileHeading + "\n\nold\n"
	for _, c := range []struct{ report, want string }{
		{"", section},
		{"# bench\n\n## Targets\n\nx\n", "# bench\n\n## Targets\n\nx\n\n" + section},
		{"# bench\n\n" + oldSection + "\n## Targets\n\nx\n", "# bench\n\n" + section + "\n## Targets\n\nx\n"},
		{"# bench\n\n## Targets\n\nx\n\n" + oldSection, "# bench\n\n## Targets\n\nx\n\n" + section},
	} {
		if got := spliceProfileSection(c.report, section); got != c.want {
			t.Errorf("splice into %q = %q, want %q", c.report, got, c.want)
		}
	}
	path := filepath.Join(t.TempDir(), "results.md")
	if got := withProfileOf(path, "# bench\n"); got != "# bench\n" {
		t.Errorf("no old report: %q", got)
	}
	if err := os.WriteFile(path, []byte("# old bench\n\n"+oldSection+"\n## Targets\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if got, want := withProfileOf(path, "# bench\n\n## Targets\n"), "# bench\n\n## Targets\n\n"+oldSection; got != want {
		t.Errorf("a new report keeps the last profile: %q, want %q", got, want)
	}
}

func TestWithBaseline(t *testing.T) {
	mws := []stack.Middleware{
		{Name: "auth"},
		{Name: "auth-reval", Options: map[string]any{"cacheTTL": "1ms"}},
		{Name: "trivial", Body: map[string]any{"plugin": map[string]any{"trivial": map[string]any{}}}},
	}
	routes := []stack.Route{
		{EntryPoints: []string{"hit"}, Middlewares: []string{"auth"}},
		{EntryPoints: []string{"reval"}, Middlewares: []string{"auth-reval"}},
		{EntryPoints: []string{"trivial"}, Middlewares: []string{"trivial"}},
		{EntryPoints: []string{"bare"}},
	}
	gotMws, gotRoutes, twinned := withBaseline(mws, routes, map[string]any{"resolverURL": "http://r"})
	wantMws := append(slices.Clone(mws),
		stack.Middleware{Name: "auth-baseline", Body: map[string]any{"plugin": map[string]any{"baseline": map[string]any{"resolverURL": "http://r"}}}},
		stack.Middleware{Name: "auth-reval-baseline", Body: map[string]any{"plugin": map[string]any{"baseline": map[string]any{"resolverURL": "http://r", "cacheTTL": "1ms"}}}},
	)
	wantRoutes := append(slices.Clone(routes),
		stack.Route{EntryPoints: []string{"hit-baseline"}, Middlewares: []string{"auth-baseline"}},
		stack.Route{EntryPoints: []string{"reval-baseline"}, Middlewares: []string{"auth-reval-baseline"}},
	)
	if !reflect.DeepEqual(gotMws, wantMws) || !reflect.DeepEqual(gotRoutes, wantRoutes) {
		t.Errorf("middlewares %+v\nroutes %+v\nwant %+v\n%+v", gotMws, gotRoutes, wantMws, wantRoutes)
	}
	if !reflect.DeepEqual(twinned, map[string]bool{"hit": true, "reval": true}) {
		t.Errorf("twinned = %v", twinned)
	}
	var names []string
	for _, s := range profileTargets(map[string]bool{"hit": true}) {
		names = append(names, s.name+"@"+s.ep)
	}
	if i := slices.Index(names, "plugin-hit@hit"); i < 0 || i+1 >= len(names) || names[i+1] != "plugin-hit (baseline)@hit-baseline" || names[0] != "traefik-bare@bare" {
		t.Errorf("targets = %v: want bare first, and each twin right after its target", names)
	}
}

func TestRenameModule(t *testing.T) {
	dir := t.TempDir()
	files := map[string]string{
		"go.mod":       "module github.com/traefik-authgear/traefik-authgear\n\ngo 1.22\n",
		".traefik.yml": "displayName: Authgear\nimport: github.com/traefik-authgear/traefik-authgear\nbasePkg: authgear\n",
	}
	for name, text := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := renameModule(dir, baselineModule); err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]string{
		"go.mod":       "module " + baselineModule + "\n\ngo 1.22\n",
		".traefik.yml": "displayName: Authgear\nimport: " + baselineModule + "\nbasePkg: authgear\n",
	} {
		if got, _ := os.ReadFile(filepath.Join(dir, name)); string(got) != want {
			t.Errorf("%s = %q, want %q", name, got, want)
		}
	}
	if err := renameModule(t.TempDir(), baselineModule); err == nil {
		t.Error("no go.mod: no error")
	}
}

func TestParseProfileOptions(t *testing.T) {
	o, err := parseOptions([]string{"-profile", "-baseline", "HEAD~1"}, io.Discard)
	if err != nil || !o.profile || o.baseline != "HEAD~1" || o.threads != 1 || o.reps != 3 || o.duration != 10*time.Second {
		t.Errorf("-profile = %+v, %v: want one wrk thread, 3 runs of 10 s", o, err)
	}
	if o, err := parseOptions([]string{"-profile", "-quick", "-threads", "2"}, io.Discard); err != nil || o.threads != 2 || o.duration != 2*time.Second || o.reps != 1 {
		t.Errorf("-profile -quick -threads 2 = %+v, %v: want the flag's threads, quick's duration and runs", o, err)
	}
	if _, err := parseOptions([]string{"-baseline", "HEAD"}, io.Discard); err == nil {
		t.Error("-baseline without -profile: no error")
	}
}

func TestCheckDebugAPIApart(t *testing.T) {
	debug := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/debug/pprof/cmdline" {
			io.WriteString(w, "traefik\n--configFile=/tmp/x/traefik.yml")
			return
		}
		http.NotFound(w, r)
	}))
	defer debug.Close()
	backend := httptest.NewServer(echo.Handler())
	defer backend.Close()
	admin := strings.TrimPrefix(debug.URL, "http://")
	for _, c := range []struct {
		name, admin, target string
		ok                  bool
	}{
		{"apart", admin, backend.URL, true},
		{"the debug API on the measured entry point", admin, debug.URL, false},
		{"no debug API", strings.TrimPrefix(backend.URL, "http://"), backend.URL, false},
	} {
		if err := checkDebugAPIApart(context.Background(), c.admin, c.target); (err == nil) != c.ok {
			t.Errorf("%s: %v, want ok %v", c.name, err, c.ok)
		}
	}
}
