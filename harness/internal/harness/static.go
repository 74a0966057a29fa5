package harness

import (
	"strings"

	"gopkg.in/yaml.v3"
)

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
