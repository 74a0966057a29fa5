package main

import (
	"fmt"
	"math"
	"time"
)

// Targets of issue 13: ratios to the trivial plugin, the interpreter's
// floor, per round (each round's row over the same round's trivial), with
// their median and spread.
const (
	targetHitOverTrivial  = 0.95 // plugin-hit (and -browser, -revalidating) over trivial-plugin
	targetAnonOverTrivial = 0.97 // plugin-anon over trivial-plugin
	targetP50OverTrivial  = 0.10 // plugin-hit p50 at most this much above trivial-plugin's
)

// Targets of issue 4.
const (
	targetHitRatio       = 0.90 // plugin-hit throughput over traefik-bare's
	targetHitP50Slack    = 0.10 // plugin-hit p50 at most this much above traefik-bare's
	targetOverForward    = 3.0  // plugin-hit throughput over forwardauth's, at 0 ms
	targetBurstCalls     = 1
	targetBytesPerEntry  = 1024
	targetSlowResolverMs = 20
)

// verdict is one target with what was measured.
type verdict struct {
	target   string
	measured string
	status   string // PASS, MISS, or n/a when not measured
}

func passMiss(ok bool) string {
	if ok {
		return "PASS"
	}
	return "MISS"
}

// phaseAt returns the phase run at latency d, or nil.
func phaseAt(phases []*phase, d time.Duration) *phase {
	for _, p := range phases {
		if p.latency == d {
			return p
		}
	}
	return nil
}

// rowsOf returns the named rows of a phase, or nil when any is missing.
func rowsOf(p *phase, names ...string) []*rowResult {
	if p == nil {
		return nil
	}
	var out []*rowResult
	for _, n := range names {
		r := p.rows[n]
		if r == nil || math.IsNaN(r.rps) {
			return nil
		}
		out = append(out, r)
	}
	return out
}

// evaluate checks every target against what was measured.
func evaluate(phases []*phase, bursts []burstResult, mem *memResult) []verdict {
	var out []verdict
	na := func(target string) {
		out = append(out, verdict{target: target, measured: "not measured", status: "n/a"})
	}
	fast := phaseAt(phases, 0)
	slow := phaseAt(phases, targetSlowResolverMs*time.Millisecond)

	ratioTo := func(p *phase, latency, row, floor string, want float64) {
		t := fmt.Sprintf("%s ≥ %.2f × %s throughput (%s)", row, want, floor, latency)
		r := rowsOf(p, row, floor)
		if r == nil {
			na(t)
			return
		}
		med, lo, hi := ratioSpread(r[0], r[1], figRPS)
		out = append(out, verdict{t, fmt.Sprintf("%.2f × per round (%.2f–%.2f; medians %s vs %s req/s)", med, lo, hi, fmtRPS(r[0].rps), fmtRPS(r[1].rps)),
			passMiss(med >= want)})
	}
	ratioTo(fast, "0 ms", rowPluginHit, rowTrivial, targetHitOverTrivial)
	ratioTo(fast, "0 ms", rowHitBrowser, rowTrivialBrowser, targetHitOverTrivial)
	ratioTo(fast, "0 ms", rowHitBrowser, rowBareBrowser, targetHitRatio)
	ratioTo(fast, "0 ms", rowPluginAnon, rowTrivial, targetAnonOverTrivial)
	ratioTo(fast, "0 ms", rowAnonBrowser, rowTrivialBrowser, targetAnonOverTrivial)
	ratioTo(fast, "0 ms", rowPluginReval, rowTrivial, targetHitOverTrivial)
	ratioTo(slow, fmt.Sprintf("%d ms", targetSlowResolverMs), rowPluginHit, rowTrivial, targetHitOverTrivial)
	ratioTo(slow, fmt.Sprintf("%d ms", targetSlowResolverMs), rowPluginReval, rowTrivial, targetHitOverTrivial)

	t := fmt.Sprintf("plugin-hit p50 within %.0f %% of trivial-plugin's (0 ms)", targetP50OverTrivial*100)
	if r := rowsOf(fast, rowPluginHit, rowTrivial); r != nil {
		over := pairedRatio(r[0], r[1], figP50) - 1
		out = append(out, verdict{t, fmt.Sprintf("%+.0f %% (%s vs %s)", over*100, fmtUS(r[0].p50US), fmtUS(r[1].p50US)),
			passMiss(over <= targetP50OverTrivial)})
	} else {
		na(t)
	}

	t = "plugin-revalidating p99 beside plugin-hit's (0 ms; reported, no target)"
	if r := rowsOf(fast, rowPluginReval, rowPluginHit); r != nil {
		out = append(out, verdict{t, fmt.Sprintf("%s vs %s", fmtUS(r[0].p99US), fmtUS(r[1].p99US)), "info"})
	} else {
		na(t)
	}

	t = fmt.Sprintf("plugin-hit ≥ %.2f × traefik-bare throughput (0 ms)", targetHitRatio)
	if r := rowsOf(fast, rowPluginHit, rowTraefikBare); r != nil {
		ratio := pairedRatio(r[0], r[1], figRPS)
		out = append(out, verdict{t, fmt.Sprintf("%.2f × (medians %s vs %s req/s)", ratio, fmtRPS(r[0].rps), fmtRPS(r[1].rps)),
			passMiss(ratio >= targetHitRatio)})
	} else {
		na(t)
	}

	t = fmt.Sprintf("plugin-hit p50 within %.0f %% of traefik-bare's (0 ms)", targetHitP50Slack*100)
	if r := rowsOf(fast, rowPluginHit, rowTraefikBare); r != nil {
		over := pairedRatio(r[0], r[1], figP50) - 1
		out = append(out, verdict{t, fmt.Sprintf("%+.0f %% (%s vs %s)", over*100, fmtUS(r[0].p50US), fmtUS(r[1].p50US)),
			passMiss(over <= targetHitP50Slack)})
	} else {
		na(t)
	}

	t = fmt.Sprintf("plugin-hit ≥ %.0f × forwardauth throughput (0 ms)", targetOverForward)
	if r := rowsOf(fast, rowPluginHit, rowForwardAuth); r != nil {
		x := pairedRatio(r[0], r[1], figRPS)
		out = append(out, verdict{t, fmt.Sprintf("%.2f × (medians %s vs %s req/s)", x, fmtRPS(r[0].rps), fmtRPS(r[1].rps)),
			passMiss(x >= targetOverForward)})
	} else {
		na(t)
	}

	t = fmt.Sprintf("plugin-hit p99 < forwardauth p50 (%d ms)", targetSlowResolverMs)
	if r := rowsOf(slow, rowPluginHit, rowForwardAuth); r != nil {
		out = append(out, verdict{t, fmt.Sprintf("%s vs %s", fmtUS(r[0].p99US), fmtUS(r[1].p50US)),
			passMiss(r[0].p99US < r[1].p50US)})
	} else {
		na(t)
	}

	t = "plugin-hit's ratio to traefik-bare ≥ nginx-auth-cache's ratio to nginx-bare (0 ms)"
	if r := rowsOf(fast, rowPluginHit, rowNginxAuthCache); r != nil && !math.IsNaN(r[0].ratio) && !math.IsNaN(r[1].ratio) {
		out = append(out, verdict{t, fmt.Sprintf("%.2f vs %.2f", r[0].ratio, r[1].ratio), passMiss(r[0].ratio >= r[1].ratio)})
	} else {
		na(t)
	}

	t = fmt.Sprintf("%d resolver call for a burst with one new credential", targetBurstCalls)
	var plugin []burstResult
	for _, b := range bursts {
		if b.row == rowPluginHit {
			plugin = append(plugin, b)
		}
	}
	if len(plugin) > 0 {
		ok := true
		measured := ""
		for i, b := range plugin {
			ok = ok && b.calls == targetBurstCalls && b.ok == b.requests
			if i > 0 {
				measured += ", "
			}
			measured += fmt.Sprintf("%d at %s", b.calls, fmtLatency(b.latency))
		}
		out = append(out, verdict{t, measured, passMiss(ok)})
	} else {
		na(t)
	}

	t = "≤ 1 KiB of memory per cached session (RSS, and live heap when known)"
	if mem != nil {
		rss, heap := mem.perEntry()
		m := fmtBytes(rss) + " RSS"
		ok := rss <= targetBytesPerEntry
		if heap >= 0 {
			m += ", " + fmtBytes(heap) + " live heap"
			ok = ok && heap <= targetBytesPerEntry
		}
		out = append(out, verdict{t, m, passMiss(ok)})
	} else {
		na(t)
	}
	return out
}
