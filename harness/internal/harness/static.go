package harness

import (
	"fmt"
	"sort"
	"strings"
)

// staticConfig holds what goes into Traefik's static configuration file.
type staticConfig struct {
	LogLevel     string
	EntryAddr    string            // the "web" entrypoint
	AdminAddr    string            // the "traefik" entrypoint: ping, and api/pprof/metrics when enabled
	EntryPoints  map[string]string // extra entrypoints
	DynamicFile  string
	Module       string            // plugin module; empty: no plugin
	ExtraModules map[string]string // more local plugins, name to module
	Experimental string            // replaces the generated experimental section when set
	Extra        string
}

// yaml renders the static configuration. Both entrypoints shut down within a
// second (Traefik waits 10 s for open connections by default), and the file
// provider is throttled for 100 ms only so that reloads apply quickly.
func (c staticConfig) yaml() string {
	var b strings.Builder
	fmt.Fprintf(&b, "global:\n  checkNewVersion: false\n  sendAnonymousUsage: false\n")
	fmt.Fprintf(&b, "log:\n  level: %s\n  noColor: true\n", c.LogLevel)
	b.WriteString("entryPoints:\n")
	writeEntryPoint(&b, "web", c.EntryAddr)
	writeEntryPoint(&b, "traefik", c.AdminAddr)
	names := make([]string, 0, len(c.EntryPoints))
	for name := range c.EntryPoints {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		writeEntryPoint(&b, name, c.EntryPoints[name])
	}
	b.WriteString("ping:\n  entryPoint: traefik\n")
	fmt.Fprintf(&b, "providers:\n  providersThrottleDuration: 100ms\n  file:\n    filename: %q\n    watch: true\n", c.DynamicFile)
	switch {
	case c.Experimental != "":
		b.WriteString(strings.TrimRight(c.Experimental, "\n") + "\n")
	case c.Module != "":
		fmt.Fprintf(&b, "experimental:\n  localPlugins:\n    %s:\n      moduleName: %s\n", PluginName, c.Module)
		extras := make([]string, 0, len(c.ExtraModules))
		for name := range c.ExtraModules {
			extras = append(extras, name)
		}
		sort.Strings(extras)
		for _, name := range extras {
			fmt.Fprintf(&b, "    %s:\n      moduleName: %s\n", name, c.ExtraModules[name])
		}
	}
	if c.Extra != "" {
		b.WriteString(strings.TrimRight(c.Extra, "\n") + "\n")
	}
	return b.String()
}

// writeEntryPoint writes one entrypoint with a short shutdown grace time.
func writeEntryPoint(b *strings.Builder, name, addr string) {
	fmt.Fprintf(b, "  %s:\n    address: %q\n    transport:\n      lifeCycle:\n        graceTimeOut: 1s\n", name, addr)
}
