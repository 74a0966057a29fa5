// Command stress shows, with figures, that the plugin keeps serving, keeps
// its memory bounded and never hands out an identity it should not, under
// floods, resolver faults, spoofed and malformed input, fuzzing, a soak and
// configuration reloads. It runs a real Traefik v3.6.12 with the plugin (see
// internal/harness), the stand-in resolver and an echo backend, all on
// 127.0.0.1, prints a Markdown summary table, writes it to
// stress/results.md, and exits with status 1 when a limit does not hold.
//
//	go run ./stress            # the full run (make stress), about 25 minutes
//	go run ./stress -quick     # about 3 minutes, smaller figures
//	go run ./stress -parts spoof,malformed
//
// Every loop is bounded in count and time.
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/traefik-authgear/traefik-authgear/harness/internal/harness"
)

// options are the command's flags.
type options struct {
	quick         bool
	parts         string
	floodRequests int64
	floodWorkers  int
	faultPhase    time.Duration
	soak          time.Duration
	soakRate      int
	reloads       int
	fuzzTime      time.Duration
	out           string
}

// part is one section of the run.
type part struct {
	name string
	run  func(*options, *report) error
}

var allParts = []part{
	{"spoof", runSpoof},
	{"malformed", runMalformed},
	{"faults", runFaults},
	{"flood", runFlood},
	{"reloads", runReloads},
	{"soak", runSoak},
	{"fuzz", runFuzz},
}

func main() {
	o := parseFlags()
	root, err := harness.RepoRoot()
	if err != nil {
		fmt.Fprintln(os.Stderr, "stress:", err)
		os.Exit(2)
	}
	if _, err := harness.TraefikBinary(); err != nil {
		fmt.Fprintln(os.Stderr, "stress:", err)
		os.Exit(2)
	}
	rep := &report{}
	start := time.Now()
	for _, p := range allParts {
		if o.parts != "" && !slices.Contains(strings.Split(strings.ReplaceAll(o.parts, " ", ""), ","), p.name) {
			continue
		}
		fmt.Printf("\n== %s\n", p.name)
		t0 := time.Now()
		if err := p.run(o, rep); err != nil {
			rep.check(p.name, "part ran to the end", "error: "+err.Error(), "no error", false)
		}
		fmt.Printf("   (%s in %s)\n", p.name, time.Since(t0).Round(time.Second))
	}
	elapsed := time.Since(start).Round(time.Second)

	table := rep.markdown()
	fmt.Printf("\n%s\n", table)
	failed := rep.failed()
	doc := resultsDoc(o, table, elapsed, len(failed))
	out := o.out
	if out == "" {
		out = filepath.Join(root, "harness", "stress", "results.md")
	}
	if err := os.WriteFile(out, []byte(doc), 0o644); err != nil {
		fmt.Fprintln(os.Stderr, "stress: write results:", err)
		os.Exit(2)
	}
	fmt.Printf("written to %s (%s)\n", out, elapsed)
	if len(failed) > 0 {
		fmt.Printf("%d limits do not hold:\n", len(failed))
		for _, f := range failed {
			fmt.Printf("  %s: %s = %s (limit %s)\n", f.part, f.figure, f.value, f.limit)
		}
		os.Exit(1)
	}
	fmt.Println("every limit holds")
}

func parseFlags() *options {
	o := &options{}
	flag.BoolVar(&o.quick, "quick", false, "short run for development: smaller flood, 30 s soak, fewer reloads, 3 s fuzzing")
	flag.StringVar(&o.parts, "parts", "", "comma-separated parts to run (spoof, malformed, faults, flood, reloads, soak, fuzz); default all")
	flag.Int64Var(&o.floodRequests, "flood", 1_000_000, "credential flood: number of requests")
	flag.IntVar(&o.floodWorkers, "flood-workers", 16, "credential flood: concurrent connections")
	flag.DurationVar(&o.faultPhase, "fault-phase", 5*time.Second, "resolver faults: load duration of each phase")
	flag.DurationVar(&o.soak, "soak", 10*time.Minute, "soak: duration")
	flag.IntVar(&o.soakRate, "soak-rate", 500, "soak: requests per second")
	flag.IntVar(&o.reloads, "reloads", 400, "reloads: number of configuration rewrites (half same settings, half changed; 100 of each resolve a few KiB per reload)")
	flag.DurationVar(&o.fuzzTime, "fuzztime", 20*time.Second, "fuzz: -fuzztime of each fuzz target")
	flag.StringVar(&o.out, "out", "", "results file (default stress/results.md)")
	flag.Parse()
	if o.quick {
		set := map[string]bool{}
		flag.Visit(func(f *flag.Flag) { set[f.Name] = true })
		quick := map[string]func(){
			"flood":       func() { o.floodRequests = 50_000 },
			"fault-phase": func() { o.faultPhase = 1500 * time.Millisecond },
			"soak":        func() { o.soak = 30 * time.Second },
			"reloads":     func() { o.reloads = 40 },
			"fuzztime":    func() { o.fuzzTime = 3 * time.Second },
		}
		for name, apply := range quick {
			if !set[name] {
				apply()
			}
		}
	}
	return o
}

// resultsDoc is the content of stress/results.md.
func resultsDoc(o *options, table string, elapsed time.Duration, failed int) string {
	mode := "full"
	if o.quick {
		mode = "quick (-quick)"
	}
	verdict := "every limit holds"
	if failed > 0 {
		verdict = fmt.Sprintf("**%d limits do not hold**", failed)
	}
	return fmt.Sprintf("# Stress results\n\n"+
		"`make stress` (`go run ./stress`), %s run, %s, on %d CPU cores, %s/%s, %s; Traefik v3.6.12 with the plugin "+
		"interpreted by its embedded Yaegi; stand-in resolver and echo backend in the same process as the load "+
		"generator, all on 127.0.0.1. Run took %s; %s.\n\n%s",
		mode, time.Now().UTC().Format("2006-01-02 15:04 UTC"), runtime.NumCPU(), runtime.GOOS, runtime.GOARCH,
		runtime.Version(), elapsed, verdict, table)
}
