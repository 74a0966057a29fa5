package main

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/google/pprof/profile"
)

// The profile's arithmetic: which of Traefik's CPU samples are the plugin's
// interpreted work, and what that comes to per request.

// Function names in Traefik's CPU profile that bound the plugin's work.
const (
	// interpFrame runs interpreted code: every call from Traefik into the
	// plugin (ServeHTTP through the wrapper Yaegi builds), and every
	// goroutine the plugin starts, runs under it.
	interpFrame = "github.com/traefik/yaegi/interp.runCfg"
	// yaegiPrefix starts the names of Yaegi's own functions, its wrappers of
	// the standard library's interfaces (stdlib._net_http_Handler.ServeHTTP)
	// included.
	yaegiPrefix = "github.com/traefik/yaegi/"
	// mallocFrame is where every heap allocation of the process goes.
	mallocFrame = "runtime.mallocgc"
)

// isNextHandler tells the frames through which the plugin hands the request
// on: a compiled ServeHTTP method called from interpreted code. In Traefik
// v3.6 that is wrr.(*Balancer).ServeHTTP, the route's service, under the
// reflect.Value.Call of m.next.ServeHTTP; the plugin calls no other compiled
// ServeHTTP, so what runs under it is the rest of Traefik's chain (the
// load balancer, the reverse proxy, the backend's answer), not the plugin.
func isNextHandler(fn string) bool {
	return strings.HasSuffix(fn, ".ServeHTTP") && !strings.HasPrefix(fn, yaegiPrefix)
}

// stackOwner is who a sample's CPU time is charged to.
type stackOwner int

const (
	ownerTraefik stackOwner = iota // outside the plugin: accepting, parsing, routing, GC, ...
	ownerPlugin                    // the plugin's interpreted work
	ownerNext                      // the chain the plugin hands the request to
)

// ownerOf walks a stack (leaf first) from its root: it is the plugin's from
// an interpFrame on, and the next handler's from an isNextHandler frame
// under that on (a callback into interpreted code under it, such as a
// ResponseWriter of the plugin's, is the plugin's again). It returns the
// owner at the leaf and the index of the frame where that owner's part
// starts: the plugin's part of the stack is frames[:from].
func ownerOf(frames []string) (owner stackOwner, from int) {
	owner, from = ownerTraefik, len(frames)
	for i := len(frames) - 1; i >= 0; i-- {
		switch {
		case frames[i] == interpFrame && owner != ownerPlugin:
			owner, from = ownerPlugin, i
		case owner == ownerPlugin && isNextHandler(frames[i]):
			owner, from = ownerNext, i
		}
	}
	return owner, from
}

// cpuSplit is one CPU profile divided up by what ran.
type cpuSplit struct {
	window  time.Duration // the profile's length
	samples int64
	whole   time.Duration // all of Traefik's CPU time in the window
	interp  time.Duration // the plugin's: under interpFrame, less the next handler
	next    time.Duration // under interpFrame, in the next handler: not the plugin's
	alloc   time.Duration // under mallocFrame, anywhere
	// costs are the plugin's CPU time by function.
	costs map[string]*funcCost
}

// funcCost is one function's CPU time within the plugin's share: flat with
// the function on top of the stack, cum with it anywhere in the plugin's part.
type funcCost struct {
	flat, cum time.Duration
}

// splitProfile divides a CPU profile between Traefik, the plugin and the
// handler the plugin calls next (ownerOf), and sums the allocation time.
func splitProfile(p *profile.Profile) (cpuSplit, error) {
	s := cpuSplit{window: time.Duration(p.DurationNanos), costs: map[string]*funcCost{}}
	idx := slices.IndexFunc(p.SampleType, func(t *profile.ValueType) bool { return t.Type == "cpu" && t.Unit == "nanoseconds" })
	if idx < 0 {
		return s, fmt.Errorf("not a CPU profile: no cpu/nanoseconds sample type")
	}
	if s.window <= 0 {
		return s, fmt.Errorf("CPU profile without a duration")
	}
	for _, smp := range p.Sample {
		v := time.Duration(smp.Value[idx])
		frames := stackFrames(smp)
		s.samples++
		s.whole += v
		if slices.Contains(frames, mallocFrame) {
			s.alloc += v
		}
		switch owner, from := ownerOf(frames); owner {
		case ownerPlugin:
			s.interp += v
			s.addCosts(frames[:from], v)
		case ownerNext:
			s.next += v
		}
	}
	return s, nil
}

// stackFrames returns a sample's function names from its leaf to its root,
// inlined calls included (a location lists its innermost call first).
func stackFrames(smp *profile.Sample) []string {
	var out []string
	for _, loc := range smp.Location {
		for _, line := range loc.Line {
			if line.Function != nil {
				out = append(out, line.Function.Name)
			}
		}
	}
	return out
}

// addCosts charges v to the functions of the plugin's part of a stack (leaf
// first, the interpFrame that opens it left out): flat to the leaf, cum once
// to each function (recursion counts once).
func (s *cpuSplit) addCosts(frames []string, v time.Duration) {
	seen := map[string]bool{}
	for i, fn := range frames {
		if fn == interpFrame || seen[fn] {
			continue
		}
		seen[fn] = true
		c := s.costs[fn]
		if c == nil {
			c = &funcCost{}
			s.costs[fn] = c
		}
		c.cum += v
		if i == 0 {
			c.flat += v
		}
	}
}

// profileRun is one target's profiled wrk run.
type profileRun struct {
	res   wrkResult
	split cpuSplit
}

// requests returns the requests served within the profile's window: wrk's
// rate (the window lies inside wrk's steady state) over the window's length.
func (r profileRun) requests() float64 { return r.res.RPS() * r.split.window.Seconds() }

// perRequestUS returns d per request of the window, in µs (NaN with none).
func (r profileRun) perRequestUS(d time.Duration) float64 {
	n := r.requests()
	if n <= 0 {
		return math.NaN()
	}
	return float64(d) / float64(time.Microsecond) / n
}

// allocShare returns the share of the profile's CPU time spent allocating.
func (r profileRun) allocShare() float64 {
	if r.split.whole <= 0 {
		return math.NaN()
	}
	return float64(r.split.alloc) / float64(r.split.whole)
}

// Per-run figures of the profile's table.
var (
	profRPS    = func(r profileRun) float64 { return r.res.RPS() }
	profP50    = func(r profileRun) float64 { return r.res.P50US }
	profP99    = func(r profileRun) float64 { return r.res.P99US }
	profWhole  = func(r profileRun) float64 { return r.perRequestUS(r.split.whole) }
	profInterp = func(r profileRun) float64 { return r.perRequestUS(r.split.interp) }
	profAlloc  = profileRun.allocShare
)

// profileRow sums up one target's runs.
type profileRow struct {
	spec rowSpec
	runs []profileRun
	// medians over the runs
	rps, p50US, p99US, wholeUS, interpUS, allocShare float64
	// top are the plugin's costliest functions over all the runs' requests.
	top []topCost
}

// topCost is one line of the top interpreted costs, in µs per request.
type topCost struct {
	fn            string
	flatUS, cumUS float64
	share         float64 // cum over all the plugin's interpreted time
}

// summarizeProfile returns a target's medians over its runs, and its top n
// interpreted costs summed over the runs and divided by all their requests.
func summarizeProfile(spec rowSpec, runs []profileRun, n int) *profileRow {
	r := &profileRow{spec: spec, runs: runs}
	col := func(f func(profileRun) float64) float64 {
		var xs []float64
		for _, run := range runs {
			xs = append(xs, f(run))
		}
		return median(xs)
	}
	r.rps, r.p50US, r.p99US = col(profRPS), col(profP50), col(profP99)
	r.wholeUS, r.interpUS, r.allocShare = col(profWhole), col(profInterp), col(profAlloc)
	var requests float64
	var interp time.Duration
	sum := map[string]*funcCost{}
	for _, run := range runs {
		requests += run.requests()
		interp += run.split.interp
		for fn, c := range run.split.costs {
			t := sum[fn]
			if t == nil {
				t = &funcCost{}
				sum[fn] = t
			}
			t.flat, t.cum = t.flat+c.flat, t.cum+c.cum
		}
	}
	if requests <= 0 || interp <= 0 {
		return r
	}
	us := func(d time.Duration) float64 { return float64(d) / float64(time.Microsecond) / requests }
	for fn, c := range sum {
		r.top = append(r.top, topCost{fn: fn, flatUS: us(c.flat), cumUS: us(c.cum), share: float64(c.cum) / float64(interp)})
	}
	slices.SortFunc(r.top, func(a, b topCost) int {
		return cmp.Or(cmp.Compare(b.cumUS, a.cumUS), cmp.Compare(b.flatUS, a.flatUS), strings.Compare(a.fn, b.fn))
	})
	r.top = r.top[:min(n, len(r.top))]
	return r
}

// pairedProfileRatio returns the median, lowest and highest of a's figure
// over b's per round (rounds run the two side by side, so a drift of the
// machine's load cancels out); NaN when the rounds do not pair.
func pairedProfileRatio(a, b *profileRow, f func(profileRun) float64) (med, lo, hi float64) {
	var ratios []float64
	for i := range a.runs {
		if i < len(b.runs) && f(b.runs[i]) > 0 {
			ratios = append(ratios, f(a.runs[i])/f(b.runs[i]))
		}
	}
	if len(ratios) == 0 || len(a.runs) != len(b.runs) {
		return math.NaN(), math.NaN(), math.NaN()
	}
	return median(ratios), slices.Min(ratios), slices.Max(ratios)
}
