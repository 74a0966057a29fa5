package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"maps"
	"math"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/google/pprof/profile"

	"github.com/traefik-authgear/traefik-authgear/harness/internal/harness"
	"github.com/traefik-authgear/traefik-authgear/harness/internal/stack"
)

// The profile (go run ./bench -profile, make profile) measures what the
// plugin costs Traefik per request from Traefik's own CPU profile: one
// Traefik with the plugin, the trivial plugin and a bare route, its API in
// debug mode on the "traefik" entry point (a loopback address of its own,
// never a measured one), each target driven by wrk while Traefik profiles
// itself. Hot-path changes are judged by its interpreted CPU per request,
// the figure a shared machine's load moves least; with -baseline the
// previous code runs beside this one in the same Traefik, round by round.

// profileRowNames are the rows of rowSpecs the profile measures (in
// rowSpecs' order): the floors (bare Traefik, the trivial plugin) and the
// plugin's paths. A name rowSpecs lacks is skipped.
var profileRowNames = []string{"traefik-bare", "trivial-plugin", "plugin-hit", "plugin-hit-assertion", "plugin-hit-browser", "plugin-anon", "plugin-revalidating"}

// profileDefaults are -profile's values of the flags not given: one wrk
// thread, as in the measurements the profile was first made for, leaves
// more of a 2-core machine to Traefik.
var profileDefaults = map[string]string{"threads": "1"}

// setUnsetFlags sets the flags of defaults that the command line did not set.
func setUnsetFlags(fs *flag.FlagSet, defaults map[string]string) {
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	for name, v := range defaults {
		if !set[name] {
			_ = fs.Set(name, v)
		}
	}
}

// profileLead is how long wrk runs before and after the profile's window,
// so that the window sees the steady state only (connections open, no ramp).
const profileLead = time.Second

// profileTopN is how many functions each top of interpreted costs lists.
const profileTopN = 12

// The baseline (-baseline): the previous code as a second local plugin.
const (
	baselinePlugin = "baseline"                                              // its plugin name in Traefik's static configuration
	baselineModule = "github.com/traefik-authgear/traefik-authgear-baseline" // its module path, renamed so that both load
	baselineSuffix = "-baseline"                                             // its middlewares' names and entry points'
	baselineLabel  = " (baseline)"                                           // its targets' names
)

// profileResult is the profile's section of the report.
type profileResult struct {
	started            time.Time
	elapsed            time.Duration
	machine, commit    string // commit: the git commit measured (harness.Commit)
	baseline           string // what -baseline ran beside it; empty: none
	opts               options
	window             time.Duration // one profile's length
	rows               []*profileRow
	coverage           float64 // median of the profiled CPU time over /proc's for Traefik
	loadStart, loadEnd string
}

// runProfile starts one Traefik with the plugin (and the baseline) and its
// debug API, checks every target, profiles each o.reps times, prints the
// section and writes it into the report at o.out in place of its old one.
func runProfile(ctx context.Context, o options, rep *report, root, dir string, ctl resolverCtl, backendAddr, benchUserID string, log io.Writer) error {
	res := &profileResult{started: rep.started, machine: rep.machine, commit: rep.commit, opts: o,
		loadStart: rep.loadStart, window: time.Duration(wrkSeconds(o.duration)) * time.Second}
	baselineSrc := ""
	if o.baseline != "" {
		var err error
		if baselineSrc, res.baseline, err = prepareBaseline(ctx, root, o.baseline, filepath.Join(dir, "baseline")); err != nil {
			return err
		}
	}
	p, t, twinned, err := startProfiledTraefik(ctx, root, ctl, backendAddr, baselineSrc)
	if err != nil {
		return err
	}
	defer p.stop()
	targets := profileTargets(twinned)
	var names []string
	for _, s := range targets {
		if err := checkRow(ctx, p, ctl, s, benchUserID); err != nil {
			return err
		}
		if err := checkDebugAPIApart(ctx, t.AdminAddr, p.base[s.ep]); err != nil {
			return err
		}
		names = append(names, s.name)
	}
	fmt.Fprintf(log, "bench: profiling %s in one Traefik, its debug API on an entry point of its own (%s)\n", strings.Join(names, ", "), t.AdminAddr)
	rawDir, err := os.MkdirTemp("", "traefik-authgear-profiles-")
	if err != nil {
		return err
	}
	w, err := newWrkRunner(dir, o.threads, o.connections)
	if err != nil {
		return err
	}
	runs, coverage, err := profileRounds(ctx, p, t.AdminAddr, w, o, targets, rawDir, log)
	if err != nil {
		return err
	}
	for _, s := range targets {
		res.rows = append(res.rows, summarizeProfile(s, runs[s.name], profileTopN))
	}
	res.coverage = median(coverage)
	res.loadEnd, res.elapsed = loadAverage(), time.Since(res.started)
	fmt.Fprintf(log, "bench: raw profiles kept in %s (go tool pprof -top -focus interp.runCfg FILE)\n", rawDir)
	return res.write(o.out, log)
}

// write prints the profile's section and puts it into the report at path in
// place of its old one (the rest of the report is kept).
func (r *profileResult) write(path string, log io.Writer) error {
	md := r.markdown()
	fmt.Print(md)
	old, err := os.ReadFile(path)
	if err != nil && !os.IsNotExist(err) {
		return err
	}
	fmt.Fprintf(log, "bench: the profile's section written to %s\n", path)
	return os.WriteFile(path, []byte(spliceProfileSection(string(old), md)), 0o644)
}

// profileTargets returns the rows of profileRowNames in rowSpecs' order,
// each followed by its baseline twin when its entry point has one.
func profileTargets(twinned map[string]bool) []rowSpec {
	var out []rowSpec
	for _, s := range rowSpecs {
		if !slices.Contains(profileRowNames, s.name) {
			continue
		}
		out = append(out, s)
		if twinned[s.ep] {
			b := s
			b.name, b.ep = s.name+baselineLabel, s.ep+baselineSuffix
			out = append(out, b)
		}
	}
	return out
}

// startProfiledTraefik starts the bench's Traefik with the plugin (every
// route of traefikOptions' plugin stack) plus a bare route, its debug API on
// its admin entry point. With baselineSrc, that plugin is loaded too, and
// every route through this plugin's middlewares alone gets a twin through
// the baseline's, on an entry point of its own: twinned holds the entry
// points that have one.
func startProfiledTraefik(ctx context.Context, root string, ctl resolverCtl, backendAddr, baselineSrc string) (_ *proxies, _ *harness.Traefik, twinned map[string]bool, err error) {
	o := traefikOptions(ctl.resolveURL(), "http://"+backendAddr, filepath.Join(root, "harness", "bench", "trivialplugin"))[1]
	o.Routes = append(slices.Clone(o.Routes), stack.Route{EntryPoints: []string{specOf("traefik-bare").ep}})
	o.Traefik.ExtraStatic = harness.DebugAPI
	twinned = map[string]bool{}
	if baselineSrc != "" {
		o.Middlewares, o.Routes, twinned = withBaseline(o.Middlewares, o.Routes, map[string]any{"resolverURL": ctl.resolveURL(), "resolverHost": stack.PublicHost})
		o.Traefik.ExtraPlugins = maps.Clone(o.Traefik.ExtraPlugins)
		o.Traefik.ExtraPlugins[baselinePlugin] = baselineSrc
	}
	o.Traefik.EntryPoints = map[string]string{}
	p := &proxies{base: map[string]string{}, pid: map[string]int{}}
	for _, r := range o.Routes {
		ep := r.EntryPoints[0]
		a, err := harness.FreeAddr()
		if err != nil {
			return nil, nil, nil, err
		}
		o.Traefik.EntryPoints[ep], p.base[ep] = a, "http://"+a
	}
	s, err := stack.Start(ctx, o)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("starting Traefik for the profile: %w", err)
	}
	p.traefiks = []*stack.Stack{s}
	for ep := range o.Traefik.EntryPoints {
		p.pid[ep] = s.Traefik.Cmd.Process.Pid
	}
	return p, s.Traefik, twinned, nil
}

// withBaseline adds a twin of every middleware of this plugin (no Body) that
// runs the baseline plugin with the same options plus common (the resolver
// the stack fills in for this plugin's), and a twin of every route through
// such middlewares alone, on the entry point named with baselineSuffix.
func withBaseline(mws []stack.Middleware, routes []stack.Route, common map[string]any) ([]stack.Middleware, []stack.Route, map[string]bool) {
	ours := map[string]bool{}
	outMws := slices.Clone(mws)
	for _, mw := range mws {
		if mw.Body != nil {
			continue
		}
		ours[mw.Name] = true
		opts := maps.Clone(common)
		maps.Copy(opts, mw.Options)
		outMws = append(outMws, stack.Middleware{Name: mw.Name + baselineSuffix, Body: map[string]any{"plugin": map[string]any{baselinePlugin: opts}}})
	}
	twinned := map[string]bool{}
	outRoutes := slices.Clone(routes)
	for _, r := range routes {
		if len(r.Middlewares) == 0 || slices.ContainsFunc(r.Middlewares, func(m string) bool { return !ours[m] }) {
			continue
		}
		twin := r
		twin.EntryPoints = []string{r.EntryPoints[0] + baselineSuffix}
		twin.Middlewares = nil
		for _, m := range r.Middlewares {
			twin.Middlewares = append(twin.Middlewares, m+baselineSuffix)
		}
		outRoutes = append(outRoutes, twin)
		twinned[r.EntryPoints[0]] = true
	}
	return outMws, outRoutes, twinned
}

// prepareBaseline writes the plugin to run beside this one into dst under
// baselineModule: from rev, a module root folder or a git revision of root
// (its top-level files and .assets). It returns dst and what it holds.
func prepareBaseline(ctx context.Context, root, rev, dst string) (src, desc string, err error) {
	if st, err := os.Stat(rev); err == nil && st.IsDir() {
		if err := harness.CopyPlugin(rev, dst); err != nil {
			return "", "", fmt.Errorf("-baseline %s: %w", rev, err)
		}
		desc = fmt.Sprintf("the plugin in %s (%s)", rev, harness.Commit(ctx, rev))
	} else {
		if err := extractRevision(ctx, root, rev, dst); err != nil {
			return "", "", fmt.Errorf("-baseline %s: %w", rev, err)
		}
		out, _ := exec.CommandContext(ctx, "git", "-C", root, "log", "-1", "--format=%h (%s)", rev).Output()
		desc = fmt.Sprintf("`%s`, commit %s", rev, strings.TrimSpace(string(out)))
	}
	if err := renameModule(dst, baselineModule); err != nil {
		return "", "", fmt.Errorf("-baseline %s: %w", rev, err)
	}
	return dst, desc, nil
}

// extractRevision writes the top-level files and the .assets folder of git
// revision rev of the repository at root into dst.
func extractRevision(ctx context.Context, root, rev, dst string) error {
	list, err := exec.CommandContext(ctx, "git", "-C", root, "ls-tree", rev).Output()
	if err != nil {
		return fmt.Errorf("git ls-tree: %w (want a module folder or a git revision)", err)
	}
	args := []string{"-C", root, "archive", "--format=tar", rev, "--"}
	for line := range strings.Lines(string(list)) {
		meta, name, _ := strings.Cut(strings.TrimRight(line, "\n"), "\t")
		if f := strings.Fields(meta); len(f) == 3 && (f[1] == "blob" || name == ".assets") {
			args = append(args, name)
		}
	}
	if err := os.MkdirAll(dst, 0o755); err != nil {
		return err
	}
	archive := exec.CommandContext(ctx, "git", args...)
	untar := exec.CommandContext(ctx, "tar", "-x", "-C", dst)
	if untar.Stdin, err = archive.StdoutPipe(); err != nil {
		return err
	}
	if err := archive.Start(); err != nil {
		return err
	}
	out, err := untar.CombinedOutput()
	if werr := archive.Wait(); err == nil && werr != nil {
		err = fmt.Errorf("git archive: %w", werr)
	}
	if err != nil {
		return fmt.Errorf("%w %s", err, out)
	}
	return nil
}

// moduleLine and importLine are go.mod's module line and .traefik.yml's import line.
var (
	moduleLine = regexp.MustCompile(`(?m)^module[ \t]+\S+[ \t]*$`)
	importLine = regexp.MustCompile(`(?m)^import:[ \t]*\S+[ \t]*$`)
)

// renameModule gives the plugin in dir the module path module, in go.mod and
// .traefik.yml, so that Traefik loads it beside the original. The plugin
// imports nothing of its own module (standard library only), so no Go file
// changes.
func renameModule(dir, module string) error {
	for _, f := range []struct {
		name string
		re   *regexp.Regexp
		line string
	}{{"go.mod", moduleLine, "module " + module}, {".traefik.yml", importLine, "import: " + module}} {
		path := filepath.Join(dir, f.name)
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		if !f.re.Match(data) {
			return fmt.Errorf("%s: no line matching %s", f.name, f.re)
		}
		if err := os.WriteFile(path, f.re.ReplaceAll(data, []byte(f.line)), 0o644); err != nil {
			return err
		}
	}
	return nil
}

// profileRounds warms every target up, then runs o.reps rounds (every other
// one in reverse order) of one profiled run per target. It returns the runs
// by target name and, per run, the profile's CPU time over /proc's.
func profileRounds(ctx context.Context, p *proxies, adminAddr string, w *wrkRunner, o options, targets []rowSpec, rawDir string, log io.Writer) (map[string][]profileRun, []float64, error) {
	if o.warmup > 0 {
		for _, s := range targets {
			if _, err := w.run(ctx, p.base[s.ep]+"/small", o.warmup, s); err != nil {
				return nil, nil, fmt.Errorf("warm-up of %s: %w", s.name, err)
			}
		}
	}
	runs := map[string][]profileRun{}
	var coverage []float64
	for r := range o.reps {
		order := slices.Clone(targets)
		if r%2 == 1 {
			slices.Reverse(order)
		}
		for _, s := range order {
			raw := filepath.Join(rawDir, fmt.Sprintf("%s-%d.pb.gz", fileName(s.name), r+1))
			run, procCPU, err := profiledRun(ctx, p, adminAddr, w, o.duration, s, raw)
			if err != nil {
				return nil, nil, err
			}
			runs[s.name] = append(runs[s.name], run)
			if procCPU > 0 {
				coverage = append(coverage, float64(run.split.whole)/float64(procCPU))
			}
			fmt.Fprintf(log, "[profile] round %d/%d %-32s %7s req/s  whole %6.1f µs/req (/proc %6.1f)  interpreted %6.1f µs/req  alloc %4.1f %%  %d samples\n",
				r+1, o.reps, s.name, fmtInt(run.res.RPS()), profWhole(run), run.perRequestUS(procCPU), profInterp(run), 100*profAlloc(run), run.split.samples)
			select {
			case <-ctx.Done():
				return nil, nil, ctx.Err()
			case <-time.After(pauseBetweenRuns):
			}
		}
	}
	return runs, coverage, nil
}

// notFileName is what fileName replaces.
var notFileName = regexp.MustCompile(`[^a-z0-9]+`)

// fileName turns a target's name into a file name: "plugin-hit-baseline".
func fileName(target string) string {
	return strings.Trim(notFileName.ReplaceAllString(strings.ToLower(target), "-"), "-")
}

// profiledRun runs wrk on a target for the profile's window plus profileLead
// before and after it, and takes Traefik's CPU profile over the window (the
// raw profile kept at raw); procCPU is Traefik's CPU time over the same
// window as /proc counts it (0 when unread).
func profiledRun(ctx context.Context, p *proxies, adminAddr string, w *wrkRunner, d time.Duration, s rowSpec, raw string) (_ profileRun, procCPU time.Duration, _ error) {
	secs := wrkSeconds(d)
	type fetched struct {
		data []byte
		proc time.Duration
		err  error
	}
	got := make(chan fetched, 1)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		select {
		case <-ctx.Done():
			got <- fetched{err: ctx.Err()}
			return
		case <-time.After(profileLead):
		}
		before, err1 := treeCPU(p.pid[s.ep])
		data, err := fetchCPUProfile(ctx, adminAddr, secs)
		after, err2 := treeCPU(p.pid[s.ep])
		f := fetched{data: data, err: err}
		if err1 == nil && err2 == nil {
			f.proc = after.since(before)
		}
		got <- f
	}()
	res, err := w.run(ctx, p.base[s.ep]+"/small", time.Duration(secs)*time.Second+2*profileLead, s)
	if err != nil {
		return profileRun{}, 0, fmt.Errorf("profile of %s: %w", s.name, err)
	}
	f := <-got
	if f.err != nil {
		return profileRun{}, 0, fmt.Errorf("profile of %s: %w", s.name, f.err)
	}
	if err := os.WriteFile(raw, f.data, 0o644); err != nil {
		return profileRun{}, 0, err
	}
	prof, err := profile.ParseData(f.data)
	if err != nil {
		return profileRun{}, 0, fmt.Errorf("profile of %s: %w", s.name, err)
	}
	split, err := splitProfile(prof)
	if err != nil {
		return profileRun{}, 0, fmt.Errorf("profile of %s: %w", s.name, err)
	}
	return profileRun{res: res, split: split}, f.proc, nil
}

// checkDebugAPIApart makes sure that the debug API answers on the admin
// entry point and not on a target's, whose requests must all go to the
// backend: GET /debug/pprof/cmdline, Traefik's command line on the one, the
// echo backend's "ok" on the other.
func checkDebugAPIApart(ctx context.Context, adminAddr, targetBase string) error {
	admin, err := requestOK(ctx, checkClient, http.MethodGet, "http://"+adminAddr+"/debug/pprof/cmdline", "")
	if err != nil || !strings.Contains(admin, "--configFile=") {
		return fmt.Errorf("the debug API on %s: %q (%v), want Traefik's command line", adminAddr, admin, err)
	}
	_, body, _, err := request(ctx, checkClient, http.MethodGet, targetBase+"/debug/pprof/cmdline?small=1", "")
	if err != nil || body != "ok" {
		return fmt.Errorf("%s/debug/pprof/cmdline answered %q (%v), want the backend's \"ok\": the debug API must stay off the measured entry points", targetBase, body, err)
	}
	return nil
}

// fetchCPUProfile takes a CPU profile of secs seconds from Traefik's debug API.
func fetchCPUProfile(ctx context.Context, adminAddr string, secs int) ([]byte, error) {
	url := fmt.Sprintf("http://%s/debug/pprof/profile?seconds=%d", adminAddr, secs)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	resp, err := (&http.Client{Timeout: time.Duration(secs)*time.Second + 30*time.Second}).Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err == nil && resp.StatusCode != http.StatusOK {
		err = fmt.Errorf("GET %s: %s %q (is the API in debug mode?)", url, resp.Status, firstLine(string(data)))
	}
	return data, err
}

// profileHeading starts the profile's section of the report.
const profileHeading = "## CPU profile: what the plugin costs per request"

// profileSection returns report's profile section: from profileHeading to
// the next second-level heading or the end ("" when it has none).
func profileSection(report string) string {
	start := strings.Index(report, profileHeading)
	if start < 0 {
		return ""
	}
	rest := report[start+len(profileHeading):]
	if i := strings.Index(rest, "\n## "); i >= 0 {
		rest = rest[:i] // the blank line before the next heading stays
	}
	return profileHeading + rest
}

// spliceProfileSection returns report with its profile section replaced by
// section, or with section at its end when it has none.
func spliceProfileSection(report, section string) string {
	if old := profileSection(report); old != "" {
		return strings.Replace(report, old, section, 1)
	}
	if strings.TrimSpace(report) == "" {
		return section
	}
	return strings.TrimRight(report, "\n") + "\n\n" + section
}

// withProfileOf returns a new report md with the profile section of the
// report at path, if any: rewriting results.md keeps the last profile (it
// names the commit and date it ran on).
func withProfileOf(path, md string) string {
	old, _ := os.ReadFile(path)
	if section := profileSection(string(old)); section != "" {
		return spliceProfileSection(md, section)
	}
	return md
}

// markdown renders the profile's section of the report.
func (r *profileResult) markdown() string {
	var b strings.Builder
	o := r.opts
	fmt.Fprintf(&b, "%s\n\n%s, %s, commit %s. %s. Load average (1 min) at start %s, at end %s.",
		profileHeading, r.started.UTC().Format("2006-01-02 15:04 UTC"), fmtElapsed(r.elapsed), r.commit, r.machine, r.loadStart, r.loadEnd)
	if o.quick {
		b.WriteString(" **Quick mode: short profiles, one run per target; for development, not for comparison.**")
	}
	fmt.Fprintf(&b, "\n\nOne Traefik with this plugin, the trivial plugin and a bare route, each target on an entry point of its own; its API in debug mode (`api.debug: true`) on the `traefik` entry point, a loopback address that no target uses. "+
		"Each run: `wrk -t%d -c%d` on one target for %s, and Traefik's CPU profile (`/debug/pprof/profile?seconds=%.0f`) from %s in, so that it sees the steady state only; %d run(s) per target, targets interleaved (every other round reversed), the median shown; %s untimed warm-up per target. "+
		"*Whole CPU/request*: all of Traefik's CPU time in the profile over the requests of its window (wrk's requests/s × the window); the profiles hold %s of the CPU time /proc counts for Traefik over the same windows. "+
		"*Interpreted CPU/request*: the time under Yaegi's `interp.runCfg` less the time in the handler the plugin calls next (the first compiled `ServeHTTP` under it: `wrr.(*Balancer).ServeHTTP`, the load balancer and the proxy), per request. "+
		"*Allocation share*: the share of all the CPU time under `runtime.mallocgc`. One 10 s profile moves by about 15 %% on a shared 2-core machine: compare medians, or two builds side by side (`-baseline`).\n\n",
		o.threads, o.connections, fmtElapsed(r.window+2*profileLead), r.window.Seconds(), fmtElapsed(profileLead), o.reps, o.warmup, fmtShare(r.coverage))
	var rows [][]string
	for _, x := range r.rows {
		rows = append(rows, []string{x.spec.name, fmtInt(x.rps), fmtMS(x.p50US), fmtMS(x.p99US), fmtUS(x.wholeUS), fmtUS(x.interpUS), fmtShare(x.allocShare)})
	}
	writeTable(&b, true, []string{"target", "requests/s", "p50", "p99", "whole CPU/request", "interpreted CPU/request", "allocation share"}, rows)
	if r.baseline != "" {
		r.writeBaseline(&b)
	}
	for _, x := range r.rows {
		if len(x.top) == 0 || strings.HasSuffix(x.spec.name, baselineLabel) {
			continue
		}
		fmt.Fprintf(&b, "### Top interpreted costs: %s\n\n", x.spec.name)
		var top [][]string
		for _, c := range x.top {
			top = append(top, []string{"`" + c.fn + "`", fmtUS(c.flatUS), fmtUS(c.cumUS), fmtShare(c.share)})
		}
		writeTable(&b, true, []string{"function", "flat/request", "cum/request", "cum share of interpreted"}, top)
	}
	b.WriteString("The top costs are summed over the runs: *cum* counts a function once per sample anywhere in the plugin's part of the stack, *flat* only on top of it. " +
		"Reproduce: `make profile` (`PROFILE_FLAGS=-quick` for a quick look; `PROFILE_FLAGS=-baseline HEAD` beside the last commit); the raw profiles are kept for `go tool pprof`.\n")
	return b.String()
}

// writeBaseline writes what the baseline is and each target's figures over
// its twin's, per round.
func (r *profileResult) writeBaseline(b *strings.Builder) {
	fmt.Fprintf(b, "Side by side: each *(baseline)* target runs %s in the same Traefik (a second local plugin, its module renamed, with the same options), right after or before its twin in every round. Ratios of this code's figure over the baseline's, per round (median, lowest–highest):\n\n", r.baseline)
	byName := map[string]*profileRow{}
	for _, x := range r.rows {
		byName[x.spec.name] = x
	}
	ratio := func(a, b *profileRow, f func(profileRun) float64) string {
		med, lo, hi := pairedProfileRatio(a, b, f)
		if math.IsNaN(med) {
			return "n/a"
		}
		return fmt.Sprintf("%.2f (%.2f–%.2f)", med, lo, hi)
	}
	var rows [][]string
	for _, x := range r.rows {
		if base := byName[x.spec.name+baselineLabel]; base != nil {
			rows = append(rows, []string{x.spec.name, fmtUS(x.interpUS) + " vs " + fmtUS(base.interpUS), ratio(x, base, profInterp), ratio(x, base, profWhole), ratio(x, base, profRPS)})
		}
	}
	writeTable(b, true, []string{"target", "interpreted CPU/request", "interpreted ratio", "whole CPU ratio", "requests/s ratio"}, rows)
}

// fmtUS renders microseconds per request: "2.50 µs", "134 µs"; n/a when unknown.
func fmtUS(us float64) string {
	if math.IsNaN(us) {
		return "n/a"
	}
	return fmtScaled(us, "µs", "ms")
}

// fmtShare renders a fraction as a percentage: "12.3 %"; n/a when unknown.
func fmtShare(x float64) string {
	if math.IsNaN(x) {
		return "n/a"
	}
	return fmt.Sprintf("%.1f %%", 100*x)
}
