package main

import (
	"fmt"
	"math"
	"strings"
	"time"
)

// slowLatency is the resolver latency of the slow-resolver targets.
const slowLatency = 20 * time.Millisecond

// verdict is one target with what was measured.
type verdict struct {
	issue    int // the issue that set the target
	target   string
	measured string
	status   string // PASS, MISS, info, or n/a when not measured
}

// pairCheck compares row a with row b of one phase: name is a format of a,
// b and the latency; measure says what was measured and the status.
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

// pairTargets are the targets of issue 13 (the plugin against the trivial
// plugin, the interpreter's floor) and of issue 4 that compare two rows.
var pairTargets = []struct {
	issue   int
	latency time.Duration
	a, b    string
	check   pairCheck
}{
	{13, 0, "plugin-hit", "trivial-plugin", throughput(0.95)},
	{13, 0, "plugin-hit-browser", "trivial-plugin-browser", throughput(0.95)},
	{13, 0, "plugin-hit-browser", "traefik-bare-browser", throughput(0.90)},
	{13, 0, "plugin-anon", "trivial-plugin", throughput(0.97)},
	{13, 0, "plugin-anon-browser", "trivial-plugin-browser", throughput(0.97)},
	{13, 0, "plugin-revalidating", "trivial-plugin", throughput(0.95)},
	{13, slowLatency, "plugin-hit", "trivial-plugin", throughput(0.95)},
	{13, slowLatency, "plugin-revalidating", "trivial-plugin", throughput(0.95)},
	{13, 0, "plugin-hit", "trivial-plugin", p50Within(0.10)},
	{13, 0, "plugin-revalidating", "plugin-hit", p99Beside},
	{4, 0, "plugin-hit", "traefik-bare", throughput(0.90)},
	{4, 0, "plugin-hit", "traefik-bare", p50Within(0.10)},
	{4, 0, "plugin-hit", "forwardauth", throughput(3)},
	{4, slowLatency, "plugin-hit", "forwardauth", p99UnderP50},
	{4, 0, "plugin-hit", "nginx-auth-cache", ratioOverRatio},
}

// Targets of issue 4 beside the table.
const (
	targetBurstCalls    = 1    // resolver calls for a burst with one new credential
	targetBytesPerEntry = 1024 // memory per cached session, RSS and live heap
)

// evaluate checks every target against what was measured.
func evaluate(phases []*phase, bursts []burstResult, mem *memResult) []verdict {
	var out []verdict
	add := func(issue int, target, measured, status string) {
		if status == "" {
			measured, status = "not measured", "n/a"
		}
		out = append(out, verdict{issue, target, measured, status})
	}
	for _, t := range pairTargets {
		measured, status := "", ""
		for _, p := range phases {
			if a, b := p.rows[t.a], p.rows[t.b]; p.latency == t.latency && a != nil && b != nil {
				measured, status = t.check.measure(a, b)
			}
		}
		add(t.issue, fmt.Sprintf(t.check.name, t.a, t.b, fmtLatency(t.latency)), measured, status)
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
	add(4, fmt.Sprintf("%d resolver call for a burst with one new credential", targetBurstCalls), strings.Join(measured, ", "), burstStatus)
	add(4, "≤ 1 KiB of memory per cached session (RSS and live heap)", memMeasured, memStatus)
	return out
}

// passMiss is PASS or MISS.
func passMiss(ok bool) string {
	if ok {
		return "PASS"
	}
	return "MISS"
}
