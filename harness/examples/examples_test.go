package examples

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/traefik-authgear/traefik-authgear/harness/internal/harness"
)

// ready is Ready with a secret file in the test's temporary folder.
func ready(t *testing.T, opts PluginConf) PluginConf {
	t.Helper()
	out, err := Ready(opts, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestExamplesLoad: every authgear middleware of the examples (Docker
// labels, the file provider, the Kubernetes Middleware) loads in the plugin
// as Traefik would load it; the labels decode to the policy they say.
func TestExamplesLoad(t *testing.T) {
	all, err := All()
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"docker/auth", "static/auth", "kubernetes/authgear"} {
		if all[name] == nil {
			t.Errorf("no middleware %s", name)
		}
	}
	for name, opts := range all {
		if _, err := Load(ready(t, opts), "examples-"+name); err != nil {
			t.Errorf("%s does not load: %v", name, err)
		}
	}
	cfg, err := Decode(ready(t, all["docker/auth"]))
	if err != nil || strings.Join(cfg.AllowedRoles, "|") != "admin|editor" || !cfg.RequireSession {
		t.Errorf("the labels decoded to %+v, %v", cfg, err)
	}
}

func TestDockerComposeExample(t *testing.T) {
	c, err := LoadCompose()
	if err != nil {
		t.Fatal(err)
	}
	if img := c.Services["traefik"].Image; !strings.HasPrefix(img, "traefik:v3.6") {
		t.Errorf("traefik image %q, want the Traefik version the tests run", img)
	}
	static, err := DecodeFlags(c.Services["traefik"].Command)
	if err != nil || static.Experimental == nil || static.Experimental.LocalPlugins[harness.PluginName].ModuleName != harness.PluginModule {
		t.Errorf("the traefik command does not load the plugin from localPlugins as %q (%v)", harness.PluginName, err)
	}
	d, err := DecodeLabels(c.Services["whoami"].Labels)
	if err != nil {
		t.Fatalf("the backend's labels: %v", err)
	}
	if r := d.HTTP.Routers["api"]; r == nil || strings.Join(r.Middlewares, ",") != "auth" {
		t.Errorf("the router does not use the middleware: %+v", r)
	}
}

// TestStaticExamples: traefik.yml and traefik-cli.txt declare the same plugin
// and the file provider's folder.
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
		if p := s.Experimental.Plugins[harness.PluginName]; p.ModuleName != harness.PluginModule || p.Version == "" {
			t.Errorf("%s: plugin %q is %+v", what, harness.PluginName, p)
		}
		if s.Providers == nil || s.Providers.File == nil || s.Providers.File.Directory != "/etc/traefik/dynamic" {
			t.Errorf("%s: no file provider directory", what)
		}
	}
	if fromFile.Experimental.Plugins[harness.PluginName] != fromFlags.Experimental.Plugins[harness.PluginName] {
		t.Errorf("the file and the flags differ: %+v, %+v", fromFile.Experimental.Plugins, fromFlags.Experimental.Plugins)
	}
}

// TestKubernetesExamples checks the manifests against Traefik's CRD schemas,
// the IngressRoute's middleware, the Helm values and the webhook Secret.
func TestKubernetesExamples(t *testing.T) {
	dir, err := Dir()
	if err != nil {
		t.Fatal(err)
	}
	schemas, err := CRDSchemas()
	if err != nil {
		t.Fatal(err)
	}
	load := func(file string) []map[string]any {
		docs, err := LoadManifests(filepath.Join(dir, "kubernetes", file))
		if err != nil || len(docs) == 0 {
			t.Fatalf("%s: %v", file, err)
		}
		return docs
	}
	docs := append(load("middleware.yaml"), load("ingressroute.yaml")...)
	middlewares, used := map[any]bool{}, map[any]bool{}
	for _, d := range docs {
		kind, _ := d["kind"].(string)
		if schemas[kind] == nil || d["apiVersion"] != "traefik.io/v1alpha1" {
			t.Fatalf("%v %v is not a kind of Traefik's CRDs", d["apiVersion"], kind)
		}
		for _, e := range Validate(kind, d, schemas[kind]) {
			t.Error(e)
		}
		if kind == "Middleware" {
			middlewares[dig(d, "metadata", "name")] = true
		}
		routes, _ := dig(d, "spec", "routes").([]any)
		for _, r := range routes {
			mws, _ := dig(r, "middlewares").([]any)
			for _, m := range mws {
				used[dig(m, "name")] = true
			}
		}
	}
	for name := range used {
		if !middlewares[name] {
			t.Errorf("the IngressRoute uses middleware %v, not the example's %v", name, middlewares)
		}
	}
	if len(used) == 0 {
		t.Error("the IngressRoute uses no middleware")
	}
	values := load("values.yaml")
	if p := dig(values[0], "experimental", "plugins", harness.PluginName); dig(p, "moduleName") != harness.PluginModule || dig(p, "version") == nil {
		t.Errorf("values.yaml: experimental.plugins.%s is %v", harness.PluginName, p)
	}
	secret := load("secret.yaml")[0]
	if secret["kind"] != "Secret" || dig(secret, "metadata", "name") != "authgear-webhook" || dig(secret, "stringData", "secret") == nil {
		t.Errorf("secret.yaml does not hold the key the Middleware's urn:k8s:secret:authgear-webhook:secret names")
	}
}
