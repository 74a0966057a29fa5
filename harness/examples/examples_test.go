package examples

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/traefik-authgear/traefik-authgear/harness/internal/harness"
)

// loads fails unless every middleware's options load in the plugin as
// Traefik would load them; it returns the Config of the named one.
func loads(t *testing.T, where string, mws map[string]PluginConf, name string) PluginConf {
	t.Helper()
	if len(mws) == 0 {
		t.Fatalf("%s: no authgear middleware", where)
	}
	for n, opts := range mws {
		if _, err := Load(ready(t, opts), "examples-"+where+"-"+n); err != nil {
			t.Errorf("%s: middleware %s does not load: %v", where, n, err)
		}
	}
	opts, ok := mws[name]
	if !ok {
		t.Fatalf("%s: no middleware %q", where, name)
	}
	return opts
}

// ready is Ready with a secret file in the test's temporary folder.
func ready(t *testing.T, opts PluginConf) PluginConf {
	t.Helper()
	out, err := Ready(opts, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestDockerComposeExample(t *testing.T) {
	c, err := LoadCompose()
	if err != nil {
		t.Fatal(err)
	}
	traefik, whoami := c.Services["traefik"], c.Services["whoami"]
	if !strings.HasPrefix(traefik.Image, "traefik:v3.6") {
		t.Errorf("traefik image %q, want the Traefik version the tests run", traefik.Image)
	}
	static, err := DecodeFlags(traefik.Command)
	if err != nil {
		t.Fatalf("the traefik command's flags: %v", err)
	}
	if static.Experimental == nil || static.Experimental.LocalPlugins[harness.PluginName].ModuleName != harness.PluginModule {
		t.Fatalf("the command does not load the plugin from localPlugins as %q", harness.PluginName)
	}
	d, err := DecodeLabels(whoami.Labels)
	if err != nil {
		t.Fatalf("the backend's labels: %v", err)
	}
	opts := loads(t, "docker", d.Middlewares(), "auth")
	cfg, err := Decode(ready(t, opts))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(cfg.AllowedRoles, "|") != "admin|editor" || !cfg.RequireSession {
		t.Errorf("labels decoded to allowedRoles %q requireSession %v", cfg.AllowedRoles, cfg.RequireSession)
	}
	if r := d.HTTP.Routers["api"]; r == nil || len(r.Middlewares) != 1 || r.Middlewares[0] != "auth" {
		t.Errorf("the router does not use the middleware: %+v", r)
	}
}

func TestStaticExamples(t *testing.T) {
	dir, err := Dir()
	if err != nil {
		t.Fatal(err)
	}
	fromFile := &Static{}
	if err := DecodeFile(filepath.Join(dir, "static", "traefik.yml"), fromFile); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(filepath.Join(dir, "static", "traefik-cli.txt"))
	if err != nil {
		t.Fatal(err)
	}
	fromFlags, err := DecodeFlags(strings.Fields(string(data)))
	if err != nil {
		t.Fatal(err)
	}
	for what, s := range map[string]*Static{"traefik.yml": fromFile, "traefik-cli.txt": fromFlags} {
		p := s.Experimental.Plugins[harness.PluginName]
		if p.ModuleName != harness.PluginModule || p.Version == "" {
			t.Errorf("%s: plugin %q is %+v", what, harness.PluginName, p)
		}
		if s.Providers == nil || s.Providers.File == nil || s.Providers.File.Directory != "/etc/traefik/dynamic" {
			t.Errorf("%s: no file provider directory", what)
		}
	}
	if fromFile.Experimental.Plugins[harness.PluginName] != fromFlags.Experimental.Plugins[harness.PluginName] {
		t.Errorf("the file and the flags differ: %+v, %+v", fromFile.Experimental.Plugins, fromFlags.Experimental.Plugins)
	}
	dynamic := &Dynamic{}
	if err := DecodeFile(filepath.Join(dir, "static", "dynamic.yml"), dynamic); err != nil {
		t.Fatal(err)
	}
	loads(t, "static", dynamic.Middlewares(), "auth")
}

func TestKubernetesExamples(t *testing.T) {
	dir, err := Dir()
	if err != nil {
		t.Fatal(err)
	}
	schemas, err := CRDSchemas()
	if err != nil {
		t.Fatal(err)
	}
	var middlewareNames []string
	var routes []map[string]interface{}
	for _, file := range []string{"middleware.yaml", "ingressroute.yaml"} {
		docs, err := LoadManifests(filepath.Join(dir, "kubernetes", file))
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range docs {
			kind, _ := d["kind"].(string)
			schema := schemas[kind]
			if schema == nil || d["apiVersion"] != "traefik.io/v1alpha1" {
				t.Fatalf("%s: %v %v is not a kind of Traefik's CRDs", file, d["apiVersion"], kind)
			}
			for _, e := range Validate(kind, d, schema) {
				t.Errorf("%s: %s", file, e)
			}
			spec, _ := d["spec"].(map[string]interface{})
			switch kind {
			case "Middleware":
				meta, _ := d["metadata"].(map[string]interface{})
				middlewareNames = append(middlewareNames, meta["name"].(string))
				plugin, _ := spec["plugin"].(map[string]interface{})
				opts, _ := plugin[harness.PluginName].(map[string]interface{})
				loads(t, "kubernetes", map[string]PluginConf{meta["name"].(string): opts}, meta["name"].(string))
			case "IngressRoute":
				rs, _ := spec["routes"].([]interface{})
				for _, r := range rs {
					routes = append(routes, r.(map[string]interface{}))
				}
			}
		}
	}
	for _, r := range routes {
		mws, _ := r["middlewares"].([]interface{})
		for _, m := range mws {
			name := m.(map[string]interface{})["name"]
			if len(middlewareNames) == 0 || name != middlewareNames[0] {
				t.Errorf("the IngressRoute uses middleware %v, not the example's %v", name, middlewareNames)
			}
		}
	}

	values, err := LoadManifests(filepath.Join(dir, "kubernetes", "values.yaml"))
	if err != nil || len(values) != 1 {
		t.Fatalf("values.yaml: %v", err)
	}
	exp, _ := values[0]["experimental"].(map[string]interface{})
	plugins, _ := exp["plugins"].(map[string]interface{})
	p, _ := plugins[harness.PluginName].(map[string]interface{})
	if p["moduleName"] != harness.PluginModule || p["version"] == nil {
		t.Errorf("values.yaml: experimental.plugins.%s is %v", harness.PluginName, p)
	}
	secrets, err := LoadManifests(filepath.Join(dir, "kubernetes", "secret.yaml"))
	if err != nil || len(secrets) != 1 || secrets[0]["kind"] != "Secret" {
		t.Fatalf("secret.yaml: %v %v", err, secrets)
	}
	meta, _ := secrets[0]["metadata"].(map[string]interface{})
	data, _ := secrets[0]["stringData"].(map[string]interface{})
	if meta["name"] != "authgear-webhook" || data["secret"] == nil {
		t.Errorf("secret.yaml does not hold the key the Middleware's urn:k8s:secret:authgear-webhook:secret names")
	}
}
