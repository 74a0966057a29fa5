// Package harness runs a real Traefik with the plugin loaded from this
// repository's source as a local plugin (plugins-local/src/<module> in a
// temporary working directory per run), as a developer does before publishing.
package harness

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"gopkg.in/yaml.v3"
)

// PluginModule is the plugin's Go module path, the moduleName given to Traefik.
const PluginModule = "github.com/traefik-authgear/traefik-authgear"

// PluginName is the plugin's key in Traefik's static configuration, the name
// used after "plugin." in middleware definitions.
const PluginName = "authgear"

// RepoRoot walks up from the working directory to the go.mod of PluginModule.
func RepoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if mod, err := modulePath(filepath.Join(dir, "go.mod")); err == nil && mod == PluginModule {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("no go.mod with module %s above the working directory", PluginModule)
		}
		dir = parent
	}
}

func modulePath(goMod string) (string, error) {
	data, err := os.ReadFile(goMod)
	if err != nil {
		return "", err
	}
	for line := range strings.Lines(string(data)) {
		if rest, ok := strings.CutPrefix(strings.TrimSpace(line), "module"); ok {
			return strings.Trim(strings.TrimSpace(rest), `"`), nil
		}
	}
	return "", fmt.Errorf("%s: no module line", goMod)
}

// TraefikBinary returns the path of the Traefik binary that tools/traefik-bin.sh
// provides: TRAEFIK_BIN when set, else a cached build, built on first use
// (about 15 minutes). The script's progress goes to this process's stderr.
func TraefikBinary() (string, error) {
	root, err := RepoRoot()
	if err != nil {
		return "", err
	}
	cmd := exec.Command(filepath.Join(root, "tools", "traefik-bin.sh"))
	cmd.Dir = root
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("tools/traefik-bin.sh: %w", err)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	bin := strings.TrimSpace(lines[len(lines)-1])
	if bin == "" {
		return "", errors.New("tools/traefik-bin.sh printed no path")
	}
	return bin, nil
}

// FreeAddr returns a loopback address with a port that was free a moment ago.
func FreeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	addr := l.Addr().String()
	return addr, l.Close()
}

const maxLogBytes = 1 << 20

// TailBuffer keeps the last megabyte written to it; safe for concurrent use,
// ready as the zero value.
type TailBuffer struct {
	mu  sync.Mutex // protects buf
	buf bytes.Buffer
}

// Write appends p, dropping the oldest bytes beyond the bound.
func (t *TailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf.Write(p)
	if over := t.buf.Len() - maxLogBytes; over > 0 {
		t.buf.Next(over)
	}
	return len(p), nil
}

// String returns what is kept.
func (t *TailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.buf.String()
}

// CopyPlugin copies what Traefik needs to load the plugin from src (a module
// root) into dst: the non-test .go files, go.mod, go.sum, .traefik.yml, the
// files its iconPath and bannerPath name, and a vendor folder if there is one.
// Tests, test data and tooling are left out, as they are for a catalog user.
func CopyPlugin(src, dst string) error {
	entries, err := os.ReadDir(src)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dst, 0o755); err != nil {
		return err
	}
	if _, err := os.Stat(filepath.Join(src, ".traefik.yml")); err != nil {
		return fmt.Errorf("plugin source %s: %w", src, err)
	}
	for _, e := range entries {
		name := e.Name()
		if !e.Type().IsRegular() || !pluginFile(name) {
			continue
		}
		if err := copyFile(filepath.Join(src, name), filepath.Join(dst, name)); err != nil {
			return err
		}
	}
	assets, err := manifestAssets(filepath.Join(src, ".traefik.yml"))
	if err != nil {
		return err
	}
	for _, a := range assets {
		if err := copyFile(filepath.Join(src, a), filepath.Join(dst, a)); err != nil {
			return fmt.Errorf("asset named in .traefik.yml: %w", err)
		}
	}
	if st, err := os.Stat(filepath.Join(src, "vendor")); err == nil && st.IsDir() {
		return os.CopyFS(filepath.Join(dst, "vendor"), os.DirFS(filepath.Join(src, "vendor")))
	}
	return nil
}

// pluginFile reports whether a root file belongs to the plugin as loaded.
func pluginFile(name string) bool {
	switch name {
	case "go.mod", "go.sum", ".traefik.yml":
		return true
	}
	return strings.HasSuffix(name, ".go") && !strings.HasSuffix(name, "_test.go")
}

// manifestAssets returns the relative paths that .traefik.yml's iconPath and
// bannerPath name (read line by line: the manifest is flat YAML).
func manifestAssets(manifest string) ([]string, error) {
	data, err := os.ReadFile(manifest)
	if err != nil {
		return nil, err
	}
	var out []string
	for line := range strings.Lines(string(data)) {
		for _, key := range []string{"iconPath:", "bannerPath:"} {
			if v, ok := strings.CutPrefix(line, key); ok {
				v = strings.Trim(strings.TrimSpace(v), `"'`)
				if v != "" && !strings.Contains(v, "://") {
					out = append(out, filepath.FromSlash(v))
				}
			}
		}
	}
	return out, nil
}

// copyFile copies one file, creating the destination's folder.
func copyFile(src, dst string) error {
	data, err := os.ReadFile(src)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	return os.WriteFile(dst, data, 0o644)
}

// Options configure one Traefik process.
type Options struct {
	// Binary is the Traefik executable; default: TraefikBinary().
	Binary string
	// EntryAddr is the "web" entrypoint's address; default: a free loopback port.
	EntryAddr string
	// Dynamic is the file provider's configuration (YAML; see WriteDynamic).
	Dynamic string
	// LogLevel is Traefik's log level; default "ERROR" (plugin stderr's level).
	LogLevel string
	// ExtraStatic is YAML appended to the static configuration (api, metrics,
	// tracing: the "traefik" entrypoint, Traefik.AdminAddr, serves them).
	ExtraStatic string
	// EntryPoints adds entrypoints, name to address.
	EntryPoints map[string]string
	// Experimental, when set, replaces the generated "experimental:" section.
	Experimental string
	// Output receives Traefik's stdout and stderr as they come (see Logs).
	Output io.Writer
	// NoPlugin runs a bare Traefik without the plugin (for benchmarks).
	NoPlugin bool
	// PluginSource is the plugin's module root; default RepoRoot().
	PluginSource string
	// ExtraPlugins are more local plugins, name to module root.
	ExtraPlugins map[string]string
	// StartTimeout bounds the wait for Traefik's ping; default 60 s.
	StartTimeout time.Duration
}

// Traefik is a running Traefik process.
type Traefik struct {
	// Dir is Traefik's working directory, removed by Stop.
	Dir string
	// URL is "http://" + EntryAddr.
	URL string
	// EntryAddr is the "web" entrypoint's address.
	EntryAddr string
	// AdminAddr is the "traefik" entrypoint's address (ping, api, metrics).
	AdminAddr string
	Cmd       *exec.Cmd

	dynamicFile string
	logs        *TailBuffer
	exited      chan struct{} // closed when the process has exited
	waitErr     error         // set before exited is closed
	stopOnce    sync.Once
	stopErr     error
}

// Start writes the configuration into a new temporary folder, copies the
// plugin's source under plugins-local, runs Traefik there and waits until it
// answers its ping. The routes may not be ready yet: use WaitRequest.
func Start(ctx context.Context, o Options) (*Traefik, error) {
	if err := o.defaults(); err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "traefik-authgear-run-")
	if err != nil {
		return nil, err
	}
	t := &Traefik{
		Dir:         dir,
		EntryAddr:   o.EntryAddr,
		URL:         "http://" + o.EntryAddr,
		dynamicFile: filepath.Join(dir, "conf", "dynamic.yml"),
		logs:        &TailBuffer{},
		exited:      make(chan struct{}),
	}
	if err := t.prepare(o); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	var out io.Writer = t.logs
	if o.Output != nil {
		out = io.MultiWriter(t.logs, o.Output)
	}
	t.Cmd = exec.Command(o.Binary, "--configFile="+filepath.Join(dir, "traefik.yml"))
	t.Cmd.Dir = dir
	t.Cmd.Stdout = out
	t.Cmd.Stderr = out
	t.Cmd.SysProcAttr = SysProcAttr()
	if err := t.Cmd.Start(); err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("start %s: %w", o.Binary, err)
	}
	go func() {
		t.waitErr = t.Cmd.Wait()
		close(t.exited)
	}()
	if err := t.waitPing(ctx, o.StartTimeout); err != nil {
		logs := t.Logs()
		t.Stop()
		return nil, fmt.Errorf("%w\nTraefik output:\n%s", err, logs)
	}
	return t, nil
}

func (o *Options) defaults() error {
	var err error
	if o.Binary == "" {
		if o.Binary, err = TraefikBinary(); err != nil {
			return err
		}
	}
	if o.EntryAddr == "" {
		if o.EntryAddr, err = FreeAddr(); err != nil {
			return err
		}
	}
	o.LogLevel = cmp.Or(o.LogLevel, "ERROR")
	o.StartTimeout = cmp.Or(o.StartTimeout, 60*time.Second)
	if o.PluginSource == "" && !o.NoPlugin {
		if o.PluginSource, err = RepoRoot(); err != nil {
			return err
		}
	}
	return nil
}

// prepare writes the plugin source and both configuration files into t.Dir.
func (t *Traefik) prepare(o Options) error {
	var err error
	if t.AdminAddr, err = FreeAddr(); err != nil {
		return err
	}
	static := staticConfig{
		LogLevel:     o.LogLevel,
		EntryAddr:    o.EntryAddr,
		AdminAddr:    t.AdminAddr,
		EntryPoints:  o.EntryPoints,
		DynamicFile:  t.dynamicFile,
		Experimental: o.Experimental,
		Extra:        o.ExtraStatic,
	}
	if !o.NoPlugin {
		sources := map[string]string{PluginName: o.PluginSource}
		maps.Copy(sources, o.ExtraPlugins)
		static.Plugins = map[string]string{}
		for name, src := range sources {
			module, err := modulePath(filepath.Join(src, "go.mod"))
			if err != nil {
				return err
			}
			if err := CopyPlugin(src, filepath.Join(t.Dir, "plugins-local", "src", filepath.FromSlash(module))); err != nil {
				return err
			}
			static.Plugins[name] = module
		}
	} else {
		static.Experimental = ""
	}
	if err := os.MkdirAll(filepath.Dir(t.dynamicFile), 0o755); err != nil {
		return err
	}
	if err := t.WriteDynamic(o.Dynamic); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(t.Dir, "traefik.yml"), []byte(static.yaml()), 0o644)
}

// waitPing polls Traefik's ping until it answers 200.
func (t *Traefik) waitPing(ctx context.Context, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	url := "http://" + t.AdminAddr + "/ping"
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if resp, err := http.DefaultClient.Do(req); err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-t.exited:
			return fmt.Errorf("traefik exited during start-up: %v", t.waitErr)
		case <-ctx.Done():
			return fmt.Errorf("traefik did not answer %s within %s", url, timeout)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// WaitRequest sends newRequest's request (a new one for every attempt) until
// the route answers through its middlewares: anything but a connection error,
// a 404 (no router yet, or the plugin failed to load: Traefik then disables
// every router that uses a plugin), or Traefik's own 502/503 pages (service
// not ready). On timeout the error carries Traefik's output.
func (t *Traefik) WaitRequest(newRequest func() *http.Request, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	client := &http.Client{
		Timeout:       5 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	last := "no answer"
	for {
		req := newRequest()
		resp, err := client.Do(req)
		if err == nil {
			body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
			resp.Body.Close()
			if routeAnswered(resp.StatusCode, body) {
				return nil
			}
			last = fmt.Sprintf("%d %q", resp.StatusCode, body)
		} else {
			last = err.Error()
		}
		select {
		case <-t.exited:
			return fmt.Errorf("traefik exited: %v\nTraefik output:\n%s", t.waitErr, t.Logs())
		default:
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("route %s %s not ready within %s (last: %s)\nTraefik output:\n%s",
				req.Method, req.URL, timeout, last, t.Logs())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// routeAnswered tells a route's own answer from Traefik's "not routed yet".
func routeAnswered(status int, body []byte) bool {
	b := strings.TrimSpace(string(body))
	switch {
	case status == http.StatusNotFound:
		return false
	case status == http.StatusBadGateway && b == "Bad Gateway":
		return false
	case status == http.StatusServiceUnavailable && b == "Service Unavailable":
		return false
	}
	return true
}

// WriteDynamic replaces the dynamic configuration atomically (a temporary
// file renamed over it), so the watching file provider never reads half a
// file. Traefik applies it after about 100 ms; poll for the change.
func (t *Traefik) WriteDynamic(yaml string) error {
	if strings.TrimSpace(yaml) == "" {
		yaml = "http: {}\n"
	}
	tmp := filepath.Join(t.Dir, ".dynamic.yml.tmp")
	if err := os.WriteFile(tmp, []byte(yaml), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, t.dynamicFile)
}

// RSS returns Traefik's resident set size in bytes (VmRSS, Linux only).
func (t *Traefik) RSS() (int64, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", t.Cmd.Process.Pid))
	if err != nil {
		return 0, err
	}
	for line := range strings.Lines(string(data)) {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			f := strings.Fields(rest) // "12345 kB"
			if len(f) != 2 || f[1] != "kB" {
				return 0, fmt.Errorf("unexpected VmRSS line %q", line)
			}
			kb, err := strconv.ParseInt(f[0], 10, 64)
			return kb * 1024, err
		}
	}
	return 0, errors.New("no VmRSS in /proc status")
}

// Logs returns Traefik's output so far (the last megabyte).
func (t *Traefik) Logs() string { return t.logs.String() }

// Exited is closed when the Traefik process has exited.
func (t *Traefik) Exited() <-chan struct{} { return t.exited }

// Stop sends SIGTERM, kills the process if it has not exited after 5 s, and
// removes Dir. It is safe to call more than once.
func (t *Traefik) Stop() error {
	t.stopOnce.Do(func() {
		if t.Cmd != nil && t.Cmd.Process != nil {
			t.Cmd.Process.Signal(syscall.SIGTERM) // os.ErrProcessDone once it has exited
			select {
			case <-t.exited:
			case <-time.After(5 * time.Second):
				t.Cmd.Process.Kill()
				<-t.exited
				t.stopErr = errors.New("traefik did not stop within 5 s of SIGTERM and was killed")
			}
		}
		if err := os.RemoveAll(t.Dir); err != nil && t.stopErr == nil {
			t.stopErr = err
		}
	})
	return t.stopErr
}

// staticConfig holds what goes into Traefik's static configuration file.
type staticConfig struct {
	LogLevel     string
	EntryAddr    string            // the "web" entrypoint
	AdminAddr    string            // the "traefik" entrypoint: ping, and api/pprof/metrics when enabled
	EntryPoints  map[string]string // extra entrypoints
	DynamicFile  string
	Plugins      map[string]string // local plugins, name to module; empty: no plugin
	Experimental string            // replaces the generated experimental section when set
	Extra        string
}

// yaml renders the static configuration. Entrypoints shut down within a
// second (Traefik waits 10 s by default), and the file provider is throttled
// for 100 ms only so that reloads apply quickly.
func (c staticConfig) yaml() string {
	ep := func(addr string) any {
		return map[string]any{"address": addr, "transport": map[string]any{"lifeCycle": map[string]any{"graceTimeOut": "1s"}}}
	}
	eps := map[string]any{"web": ep(c.EntryAddr), "traefik": ep(c.AdminAddr)}
	for name, addr := range c.EntryPoints {
		eps[name] = ep(addr)
	}
	m := map[string]any{
		"global":      map[string]any{"checkNewVersion": false, "sendAnonymousUsage": false},
		"log":         map[string]any{"level": c.LogLevel, "noColor": true},
		"entryPoints": eps,
		"ping":        map[string]any{"entryPoint": "traefik"},
		"providers":   map[string]any{"providersThrottleDuration": "100ms", "file": map[string]any{"filename": c.DynamicFile, "watch": true}},
	}
	if len(c.Plugins) > 0 && c.Experimental == "" {
		plugins := map[string]any{}
		for name, module := range c.Plugins {
			plugins[name] = map[string]any{"moduleName": module}
		}
		m["experimental"] = map[string]any{"localPlugins": plugins}
	}
	out, err := yaml.Marshal(m)
	if err != nil {
		panic(err) // maps of strings and bools always marshal
	}
	for _, raw := range []string{c.Experimental, c.Extra} {
		if raw != "" {
			out = append(out, strings.TrimRight(raw, "\n")+"\n"...)
		}
	}
	return string(out)
}

// DebugAPI is static configuration (Options.ExtraStatic) that serves
// Traefik's API with its debug endpoints, expvar and pprof, on the admin
// entrypoint (Traefik.AdminAddr), for ReadRuntimeStats.
const DebugAPI = "api:\n  insecure: true\n  debug: true\n"

// RuntimeStats are figures of Traefik's own Go runtime.
type RuntimeStats struct {
	// HeapAlloc is the live heap in bytes (runtime.MemStats.HeapAlloc)
	// right after forced garbage collections.
	HeapAlloc int64
	// Goroutines is Traefik's goroutine count.
	Goroutines int64
}

// ReadRuntimeStats forces two garbage collections in the Traefik whose admin
// entrypoint, with DebugAPI, is at adminAddr (its heap profile with gc=1 runs
// one; the second frees what the first left to sync.Pool's victim caches and
// to finalizers), then reads its expvar /debug/vars.
func ReadRuntimeStats(ctx context.Context, adminAddr string) (RuntimeStats, error) {
	client := &http.Client{Timeout: 30 * time.Second}
	get := func(path string) (*http.Response, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+adminAddr+path, nil)
		if err != nil {
			return nil, err
		}
		resp, err := client.Do(req)
		if err == nil && resp.StatusCode != http.StatusOK {
			resp.Body.Close()
			err = fmt.Errorf("traefik %s: %s (is DebugAPI in the static configuration?)", path, resp.Status)
		}
		return resp, err
	}
	for range 2 {
		resp, err := get("/debug/pprof/heap?gc=1")
		if err != nil {
			return RuntimeStats{}, err
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	resp, err := get("/debug/vars")
	if err != nil {
		return RuntimeStats{}, err
	}
	defer resp.Body.Close()
	var vars struct {
		Goroutines int64 `json:"Goroutines2"` // Traefik's own expvar
		Memstats   struct {
			HeapAlloc int64
		} `json:"memstats"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&vars); err != nil {
		return RuntimeStats{}, fmt.Errorf("traefik /debug/vars: %w", err)
	}
	if vars.Memstats.HeapAlloc == 0 {
		return RuntimeStats{}, fmt.Errorf("traefik /debug/vars: no memstats.HeapAlloc")
	}
	return RuntimeStats{HeapAlloc: vars.Memstats.HeapAlloc, Goroutines: vars.Goroutines}, nil
}
