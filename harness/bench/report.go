package main

import (
	"fmt"
	"math"
	"strings"
	"time"
)

// report is everything the Markdown document shows.
type report struct {
	started            time.Time
	elapsed            time.Duration
	machine            machine
	opts               options
	loadStart, loadEnd string
	phases             []*phase
	bursts             []burstResult
	mem                *memResult
	micro              *microResult
}

// markdown renders the report.
func (r *report) markdown() string {
	var b strings.Builder
	o := r.opts
	b.WriteString("# traefik-authgear benchmark\n\n")
	fmt.Fprintf(&b, "%s, %s. %s × %d cores, %s RAM, Linux %s. Traefik %s, nginx %s, %s; bench built with %s.",
		r.started.UTC().Format("2006-01-02 15:04 UTC"), fmtElapsed(r.elapsed),
		r.machine.cpu, r.machine.cores, r.machine.memory, r.machine.kernel,
		r.machine.traefik, r.machine.nginx, r.machine.wrk, r.machine.goVersion)
	fmt.Fprintf(&b, " Load average (1 min) at start %s, at end %s.", r.loadStart, r.loadEnd)
	if o.quick {
		b.WriteString(" **Quick mode: short runs, one repetition; for development, not for comparison.**")
	}
	if o.profile != "" {
		b.WriteString(" **CPU profiling was on (Traefik's debug API also turns on block and mutex profiling): the Traefik rows are slower than without it.**")
	}
	b.WriteString("\n\n")

	if len(r.phases) > 0 {
		fmt.Fprintf(&b, "Every row: `wrk -t%d -c%d`, %s per run, %d run(s) per row (median shown), %s untimed warm-up per row; "+
			"rows interleaved (Traefik and nginx alternating, every other round reversed). "+
			"Each request is `GET /small` (a 2-byte answer from the echo backend) with `Cookie: session=<one user's session>` "+
			"(plugin-anon: no cookie; plugin-miss: a new cookie per request). "+
			"All on loopback: wrk, the proxy, the echo backend and the stand-in resolver (separate processes) share the cores. "+
			"*Calls/request* counts the stand-in's resolve requests; *ratio* is throughput over the same proxy's bare row "+
			"(the median of the per-round ratios, as are the ratios in the targets); "+
			"*proxy CPU/request* is the proxy processes' user+system CPU time per request.\n\n",
			o.threads, o.connections, o.duration, o.reps, o.warmup)
		for _, p := range r.phases {
			r.writePhase(&b, p)
		}
		b.WriteString("Rows:\n\n")
		for _, s := range rowSpecs {
			fmt.Fprintf(&b, "- **%s**: %s\n", s.name, s.what)
		}
		b.WriteString("\n")
	}

	if len(r.bursts) > 0 {
		fmt.Fprintf(&b, "## Burst: %d concurrent requests with one new credential\n\n", r.bursts[0].requests)
		b.WriteString("Connections opened first, then all requests released at once; the credential is a session no proxy has seen.\n\n")
		b.WriteString("| proxy | resolver latency | resolver calls | answered with the identity |\n|---|---:|---:|---:|\n")
		for _, x := range r.bursts {
			fmt.Fprintf(&b, "| %s | %s | %d | %d / %d |\n", burstLabel(x.row), fmtLatency(x.latency), x.calls, x.ok, x.requests)
		}
		b.WriteString("\n")
	}

	if r.mem != nil {
		m := r.mem
		rss, heap := m.perEntry()
		fmt.Fprintf(&b, "## Memory per cached session\n\n")
		fmt.Fprintf(&b, "A Traefik of its own with the plugin (`cacheMaxEntries: %d`, `cacheTTL: 1h`), warmed up with %s distinct sessions, "+
			"then %s more distinct sessions (each a user of its own, full identity answer: 8 `x-authgear-*` headers), "+
			"resolved and cached in %s. Each reading follows a GC forced through Traefik's debug API, once the RSS has stopped falling "+
			"(at most %s). The live heap is what the cache holds; the RSS also holds the Go runtime's headroom (with the default "+
			"`GOGC=100` the heap may grow to twice the live heap before a collection) and freed memory not yet returned to the system.\n\n",
			m.maxEntries, fmtCount(memWarm), fmtCount(m.sessions), fmtElapsed(m.fill), memSettleMax)
		b.WriteString("| | RSS | live heap after GC |\n|---|---:|---:|\n")
		fmt.Fprintf(&b, "| empty cache (after warm-up) | %s | %s |\n", fmtBytes(float64(m.before.rss)), heapCell(m.before.heap))
		fmt.Fprintf(&b, "| %s sessions cached | %s | %s |\n", fmtCount(m.sessions), fmtBytes(float64(m.after.rss)), heapCell(m.after.heap))
		heapPer := "n/a"
		if heap >= 0 {
			heapPer = fmtBytes(heap)
		}
		fmt.Fprintf(&b, "| **per session** | **%s** | **%s** |\n\n", fmtBytes(rss), heapPer)
	}

	if r.micro != nil {
		r.writeMicro(&b)
	}

	verdicts := evaluate(r.phases, r.bursts, r.mem)
	b.WriteString("## Targets (issues 13 and 4)\n\n| target | measured | |\n|---|---|---|\n")
	for _, v := range verdicts {
		fmt.Fprintf(&b, "| %s | %s | %s |\n", v.target, v.measured, v.status)
	}
	b.WriteString("\nReproduce: `make bench` (`go run ./bench -h` lists the flags).\n")
	return b.String()
}

// writePhase writes one table.
func (r *report) writePhase(b *strings.Builder, p *phase) {
	if p.latency == 0 {
		b.WriteString("## Resolver answering at once (0 ms)\n\n")
	} else {
		fmt.Fprintf(b, "## Resolver with %s added latency\n\n", fmtLatency(p.latency))
	}
	b.WriteString("| row | requests/s | p50 | p99 | resolver calls/request | ratio to own bare | proxy CPU/request | errors |\n")
	b.WriteString("|---|---:|---:|---:|---:|---:|---:|---:|\n")
	for _, s := range rowSpecs {
		x := p.rows[s.name]
		if x == nil {
			continue
		}
		fmt.Fprintf(b, "| %s | %s | %s | %s | %s | %s | %s | %d |\n", s.name, fmtRPS(x.rps), fmtUS(x.p50US), fmtUS(x.p99US),
			fmtCalls(x.callsPerRequest), fmtRatio(x.ratio), fmtCPU(x.cpuPerRequestUS), x.errors)
	}
	b.WriteString("\n")
	if s := cpuSummary(p); s != "" {
		b.WriteString(s + "\n\n")
	}
}

// cpuSummary says in one sentence what each kind of auth adds to its bare
// proxy's CPU time per request: steadier than throughput on a machine whose
// cores the load generator and the servers share.
func cpuSummary(p *phase) string {
	var parts []string
	for _, name := range []string{rowPluginHit, rowPluginAnon, rowForwardAuth, rowNginxAuthCache, rowNginxAuth} {
		spec, _ := specOf(name)
		x, bare := p.rows[name], p.rows[bareRow(spec.proxy)]
		if x == nil || bare == nil || x.cpuPerRequestUS == 0 || bare.cpuPerRequestUS == 0 {
			continue
		}
		parts = append(parts, fmt.Sprintf("%s %+.0f µs", name, x.cpuPerRequestUS-bare.cpuPerRequestUS))
	}
	if len(parts) == 0 {
		return ""
	}
	return "Proxy CPU per request over its bare row: " + strings.Join(parts, ", ") + "."
}

// writeMicro writes the compiled vs Yaegi table.
func (r *report) writeMicro(b *strings.Builder) {
	m := r.micro
	b.WriteString("## Per-request path: compiled vs Yaegi\n\n")
	fmt.Fprintf(b, "`go test -bench . -benchmem` of the plugin package (bench_test.go) compiled, and the same under Yaegi v0.16.1 "+
		"(`tools/yaegi-test.sh -bench . -benchmem -benchtime %s`), the interpreter Traefik runs the plugin in. "+
		"The two ServeHTTP benchmarks include one `Header.Clone` per iteration (the HeaderClone row) to give every "+
		"iteration fresh headers.\n\n", yaegiBenchtime)
	if m.yaegiErr != nil {
		fmt.Fprintf(b, "Yaegi could not be run: %v\n\n", m.yaegiErr)
	}
	yaegi := map[string]benchLine{}
	for _, l := range m.yaegi {
		yaegi[l.name] = l
	}
	b.WriteString("| benchmark | compiled | allocs/op | Yaegi | allocs/op | Yaegi / compiled |\n|---|---:|---:|---:|---:|---:|\n")
	for _, c := range m.compiled {
		y, ok := yaegi[c.name]
		yns, yallocs, ratio := "n/a", "n/a", "n/a"
		if ok {
			yns, yallocs = fmtNs(y.nsPerOp), fmt.Sprintf("%.0f", y.allocsPerOp)
			if c.nsPerOp > 0 {
				ratio = fmt.Sprintf("%.1f ×", y.nsPerOp/c.nsPerOp)
			}
		}
		fmt.Fprintf(b, "| %s | %s | %.0f | %s | %s | %s |\n", strings.TrimPrefix(c.name, "Benchmark"),
			fmtNs(c.nsPerOp), c.allocsPerOp, yns, yallocs, ratio)
	}
	b.WriteString("\n")
}

// burstLabel names the proxy of a burst row.
func burstLabel(row string) string {
	switch row {
	case rowPluginHit:
		return "plugin (cache on)"
	case rowNginxAuthCache:
		return "nginx-auth-cache (`proxy_cache_lock on`)"
	}
	return row
}

func heapCell(h int64) string {
	if h < 0 {
		return "n/a"
	}
	return fmtBytes(float64(h))
}

// fmtCPU renders CPU microseconds per request.
func fmtCPU(us float64) string {
	if math.IsNaN(us) || us == 0 {
		return "n/a"
	}
	return fmt.Sprintf("%.0f µs", us)
}

// fmtCount renders an integer with thousands separators.
func fmtCount(n int) string { return fmtRPS(float64(n)) }

// fmtElapsed renders a run time: "42 s", "12 min 5 s".
func fmtElapsed(d time.Duration) string {
	s := int(d.Round(time.Second) / time.Second)
	if s < 60 {
		return fmt.Sprintf("%d s", s)
	}
	return fmt.Sprintf("%d min %d s", s/60, s%60)
}
