// Package interpreted loads the plugin with Yaegi v0.16.1 as Traefik does,
// so that tests can drive it under the race detector.
package interpreted

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"reflect"

	"github.com/traefik/yaegi/interp"
	"github.com/traefik/yaegi/stdlib"

	"github.com/traefik-authgear/traefik-authgear/harness/internal/harness"
)

// Plugin is the plugin's package as one interpreter loaded it.
type Plugin struct {
	interp *interp.Interpreter
}

// Load copies the plugin's source (as Traefik receives it) into a GOPATH
// under dir and imports it into a new interpreter.
func Load(dir string) (*Plugin, error) {
	root, err := harness.RepoRoot()
	if err != nil {
		return nil, err
	}
	src := filepath.Join(dir, "src", filepath.FromSlash(harness.PluginModule))
	if err := harness.CopyPlugin(root, src); err != nil {
		return nil, err
	}
	i := interp.New(interp.Options{GoPath: dir, Env: os.Environ()})
	if err := i.Use(stdlib.Symbols); err != nil {
		return nil, err
	}
	if _, err := i.Eval(fmt.Sprintf("import %q", harness.PluginModule)); err != nil {
		return nil, fmt.Errorf("import the plugin: %w", err)
	}
	return &Plugin{interp: i}, nil
}

// New makes a middleware as Traefik does: CreateConfig, the options set by
// field name, then New.
func (p *Plugin) New(next http.Handler, name string, options map[string]interface{}) (http.Handler, error) {
	cfg, err := p.interp.Eval(harness.PluginName + ".CreateConfig()")
	if err != nil {
		return nil, err
	}
	for field, value := range options {
		f := cfg.Elem().FieldByName(field)
		if !f.IsValid() {
			return nil, fmt.Errorf("the plugin's Config has no field %s", field)
		}
		f.Set(reflect.ValueOf(value).Convert(f.Type()))
	}
	fn, err := p.interp.Eval(harness.PluginName + ".New")
	if err != nil {
		return nil, err
	}
	out := fn.Call([]reflect.Value{reflect.ValueOf(context.Background()), reflect.ValueOf(next), cfg, reflect.ValueOf(name)})
	if errv := out[1]; !errv.IsNil() {
		return nil, errv.Interface().(error)
	}
	return out[0].Interface().(http.Handler), nil
}
