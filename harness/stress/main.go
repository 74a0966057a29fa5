// Command stress shows, with figures, that the plugin keeps serving, keeps
// its memory bounded and never hands out an identity it should not, under
// floods, resolver faults, spoofed and malformed input, clients padding
// their own resolver calls until they fail, fuzzing, a soak and
// configuration reloads. Each part runs on internal/stack (a real Traefik
// v3.6.12 with the plugin, the stand-in resolver and the echo backend, all
// on 127.0.0.1); the command prints a Markdown summary table, writes it to
// stress/results.md, and exits with status 1 when a limit does not hold.
//
//	go run ./stress            # the full run (make stress), about 25 minutes
//	go run ./stress -quick     # about 4 minutes, smaller figures
//	go run ./stress -parts spoof,malformed
//
// Every loop is bounded in count and time.
package main

import (
	"cmp"
	"context"
	"flag"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/traefik-authgear/traefik-authgear/harness/internal/harness"
	"github.com/traefik-authgear/traefik-authgear/harness/internal/stack"
)

type options struct {
	quick                           bool
	parts, out                      string
	floodRequests                   int64
	floodWorkers, soakRate, reloads int
	faultPhase, soak, fuzzTime      time.Duration
}

// part is one section of the run: on a stack of its own with Traefik's
// options and the middlewares mws (none: no stack), run.
type part struct {
	name    string
	traefik harness.Options
	mws     []stack.Middleware
	run     func(*options, *env, *report) error
}

// parts are the sections of the run, in order.
func parts(o *options) []part {
	debug := harness.Options{ExtraStatic: harness.DebugAPI} // for runtimeStats
	return []part{
		{"spoof", harness.Options{}, spoofMiddlewares, runSpoof},
		{"malformed", harness.Options{}, []stack.Middleware{malformedMiddleware}, runMalformed},
		{"faults", harness.Options{}, []stack.Middleware{faultsMiddleware}, runFaults},
		{"padding", harness.Options{}, []stack.Middleware{paddedMiddleware, boundedMiddleware}, runPadding},
		// DEBUG: Traefik logs the plugin's stdout, where the cache reports
		// its size every 10,000 insertions.
		{"flood", harness.Options{LogLevel: "DEBUG", ExtraStatic: harness.DebugAPI}, []stack.Middleware{floodMiddleware}, runFlood},
		{"reloads", debug, []stack.Middleware{reloadMiddleware}, runReloads},
		{"soak", debug, []stack.Middleware{soakMiddleware(o)}, runSoak},
		{"fuzz", harness.Options{}, nil, runFuzz},
	}
}

// runPart runs p, on a stack of its own unless it has no middlewares, and
// records the stack's health after it.
func runPart(o *options, p part, rep *report) error {
	if p.mws == nil {
		return p.run(o, nil, rep)
	}
	e, err := startEnv(p.traefik, p.mws...)
	if err != nil {
		return err
	}
	defer e.Stop()
	if err := p.run(o, e, rep); err != nil {
		return err
	}
	e.health(rep, p.name)
	return nil
}

func main() {
	o := parseFlags()
	root, err := harness.RepoRoot()
	if err == nil {
		_, err = harness.TraefikBinary()
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "stress:", err)
		os.Exit(2)
	}
	rep := &report{}
	start := time.Now()
	for _, p := range parts(o) {
		if o.parts != "" && !slices.Contains(strings.Split(strings.ReplaceAll(o.parts, " ", ""), ","), p.name) {
			continue
		}
		fmt.Printf("\n== %s\n", p.name)
		t0 := time.Now()
		if err := runPart(o, p, rep); err != nil {
			rep.check(p.name, "part ran to the end", "error: "+err.Error(), "no error", false)
		}
		fmt.Printf("   (%s in %s)\n", p.name, time.Since(t0).Round(time.Second))
	}
	elapsed := time.Since(start).Round(time.Second)
	table, failed := rep.markdown(), rep.failed()
	fmt.Printf("\n%s\n", table)
	mode, verdict := "full", "every limit holds"
	if o.quick {
		mode = "quick (-quick)"
	}
	if len(failed) > 0 {
		verdict = fmt.Sprintf("**%d limits do not hold**", len(failed))
	}
	doc := resultsDoc(runInfo{mode: mode, ended: time.Now(), machine: harness.Machine(),
		commit: harness.Commit(context.Background(), root), elapsed: elapsed, verdict: verdict}, table)
	out := cmp.Or(o.out, filepath.Join(root, "harness", "stress", "results.md"))
	if err := os.WriteFile(out, []byte(doc), 0o644); err != nil {
		fmt.Fprintln(os.Stderr, "stress: write results:", err)
		os.Exit(2)
	}
	fmt.Printf("written to %s (%s)\n", out, elapsed)
	fmt.Println(strings.ReplaceAll(verdict, "**", ""))
	if len(failed) > 0 {
		os.Exit(1)
	}
}

func parseFlags() *options {
	o := &options{}
	flag.BoolVar(&o.quick, "quick", false, "short run for development: smaller flood, 30 s soak, fewer reloads, 3 s fuzzing")
	flag.StringVar(&o.parts, "parts", "", "comma-separated parts to run (spoof, malformed, faults, padding, flood, reloads, soak, fuzz); default all")
	flag.Int64Var(&o.floodRequests, "flood", 1_000_000, "credential flood: number of requests (each random cookie is sent twice)")
	flag.IntVar(&o.floodWorkers, "flood-workers", 16, "credential flood: concurrent connections")
	flag.DurationVar(&o.faultPhase, "fault-phase", 5*time.Second, "resolver faults: load duration of each phase")
	flag.DurationVar(&o.soak, "soak", 10*time.Minute, "soak: duration")
	flag.IntVar(&o.soakRate, "soak-rate", 500, "soak: requests per second")
	flag.IntVar(&o.reloads, "reloads", 400, "reloads: number of configuration rewrites (half same settings, half changed; 100 of each resolve a few KiB per reload)")
	flag.DurationVar(&o.fuzzTime, "fuzztime", 20*time.Second, "fuzz: -fuzztime of each fuzz target")
	flag.StringVar(&o.out, "out", "", "results file (default stress/results.md)")
	flag.Parse()
	if o.quick { // the quick defaults, for the flags not given
		set := map[string]bool{}
		flag.Visit(func(f *flag.Flag) { set[f.Name] = true })
		for name, value := range map[string]string{"flood": "60000", "fault-phase": "1.5s", "soak": "30s", "reloads": "40", "fuzztime": "3s"} {
			if !set[name] {
				_ = flag.Set(name, value)
			}
		}
	}
	return o
}

// row is one figure of the summary table: without a limit, informational.
type row struct{ part, figure, value, limit, result string }

// report collects the figures of a run.
type report struct{ rows []row }

// info records a figure that has no limit.
func (r *report) info(part, figure, value string) { r.check(part, figure, value, "", true) }

// check records a figure with its limit and whether it holds.
func (r *report) check(part, figure, value, limit string, pass bool) {
	x := row{part, figure, value, limit, map[bool]string{true: "PASS", false: "FAIL"}[pass]}
	if limit == "" {
		x.result = ""
	}
	r.rows = append(r.rows, x)
	fmt.Printf("  [%-4s] %-10s %-58s %s\n", x.result, part, figure, value)
}

// runInfo is what the results say of the run itself.
type runInfo struct {
	mode            string // "full" or "quick (-quick)"
	ended           time.Time
	machine, commit string // harness.Machine, harness.Commit
	elapsed         time.Duration
	verdict         string // "every limit holds", or how many do not
}

// resultsDoc is the results file: when, on what machine and at which commit
// the run was made (so that a reader can tell whether it describes the code
// in front of them), then the table.
func resultsDoc(r runInfo, table string) string {
	return fmt.Sprintf("# Stress results\n\n"+
		"`make stress` (`go run ./stress`), %s run, ended %s, commit %s. %s, %s/%s, %s; Traefik v3.6.12 with the plugin "+
		"interpreted by its embedded Yaegi; stand-in resolver and echo backend in the same process as the load "+
		"generator, all on 127.0.0.1. Run took %s; %s.\n\n%s",
		r.mode, r.ended.UTC().Format("2006-01-02 15:04 UTC"), r.commit, r.machine, runtime.GOOS, runtime.GOARCH,
		runtime.Version(), r.elapsed, r.verdict, table)
}

// failed returns the rows whose limit does not hold.
func (r *report) failed() []row {
	return slices.DeleteFunc(slices.Clone(r.rows), func(x row) bool { return x.result != "FAIL" })
}

func (r *report) markdown() string {
	esc := strings.NewReplacer("|", `\|`, "\n", " ").Replace // keeps a cell inside its column
	var b strings.Builder
	b.WriteString("| part | figure | value | limit | result |\n| --- | --- | --- | --- | --- |\n")
	for _, x := range r.rows {
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s |\n", x.part, esc(x.figure), esc(x.value), esc(x.limit),
			strings.ReplaceAll(x.result, "FAIL", "**FAIL**"))
	}
	return b.String()
}

// tally counts failures and keeps the first one's description.
type tally struct {
	n     int64
	first string
}

func (t *tally) add(what string) {
	if t.n++; t.first == "" {
		t.first = what
	}
}

// String renders the count and the first failure.
func (t tally) String() string {
	if t.n == 0 {
		return "0"
	}
	return count(t.n) + " (" + t.first + ")"
}

func mib(n int64) string { return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20)) }

// mibs renders byte counts in MiB, "a → b → ...".
func mibs(ns ...int64) string {
	out := make([]string, len(ns))
	for i, n := range ns {
		out[i] = mib(n)
	}
	return strings.Join(out, " → ")
}

// count renders an integer with thousands separators.
func count(n int64) string {
	if n < 0 {
		return "-" + count(-n)
	}
	s := fmt.Sprint(n)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

// statusCounts renders status counts sorted by status, e.g. "200: 1,234; 502: 56".
func statusCounts(m map[int]int64) string {
	if len(m) == 0 {
		return "none"
	}
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(m)) {
		name := fmt.Sprint(k)
		if k == statusTransportError {
			name = "conn error"
		}
		parts = append(parts, name+": "+count(m[k]))
	}
	return strings.Join(parts, "; ")
}
