package examples

import (
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/traefik/paerser/file"

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

// TestExamplesDecode: every authgear middleware of the examples (Docker
// labels, the file provider, the Kubernetes Middleware) decodes into the
// plugin's Config as Traefik would decode it, the labels into the policy they
// say. (e2e TestExamplesLoadInTraefik loads each in a real Traefik.)
func TestExamplesDecode(t *testing.T) {
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
		if _, err := Decode(ready(t, opts)); err != nil {
			t.Errorf("%s does not decode: %v", name, err)
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

// TestStaticExamples: traefik.yml and traefik-cli.txt are the same static
// configuration: the plugin from the catalog, the file provider's folder.
func TestStaticExamples(t *testing.T) {
	dir, err := Dir()
	if err != nil {
		t.Fatal(err)
	}
	fromFile := &Static{}
	if err := file.Decode(filepath.Join(dir, "static", "traefik.yml"), fromFile); err != nil {
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
	if !reflect.DeepEqual(fromFile, fromFlags) {
		t.Errorf("the file and the flags differ: %+v, %+v", fromFile, fromFlags)
	}
	if p := fromFile.Experimental.Plugins[harness.PluginName]; p.ModuleName != harness.PluginModule || p.Version == "" {
		t.Errorf("plugin %q is %+v", harness.PluginName, p)
	}
	if fromFile.Providers == nil || fromFile.Providers.File == nil || fromFile.Providers.File.Directory != "/etc/traefik/dynamic" {
		t.Error("no file provider directory")
	}
}

// TestKubernetesExamples checks the manifests against Traefik's CRD schemas
// (which catch a mistyped field), the IngressRoute's middleware, the Helm
// values and the webhook Secret.
func TestKubernetesExamples(t *testing.T) {
	dir, err := Dir()
	if err != nil {
		t.Fatal(err)
	}
	schemas, err := CRDSchemas()
	if err != nil {
		t.Fatal(err)
	}
	typo := map[string]any{"apiVersion": "traefik.io/v1alpha1", "kind": "Middleware", "metadata": map[string]any{"name": "x"},
		"spec": map[string]any{"plugins": map[string]any{}}}
	if len(Validate("Middleware", typo, schemas["Middleware"])) == 0 {
		t.Error("a mistyped spec field passed the schema check")
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
			middlewares[Dig(d, "metadata", "name")] = true
		}
		routes, _ := Dig(d, "spec", "routes").([]any)
		for _, r := range routes {
			mws, _ := Dig(r, "middlewares").([]any)
			for _, m := range mws {
				used[Dig(m, "name")] = true
			}
		}
	}
	if len(used) == 0 || !maps.Equal(used, middlewares) {
		t.Errorf("the IngressRoute uses middlewares %v, the example defines %v", used, middlewares)
	}
	values := load("values.yaml")
	if p := Dig(values[0], "experimental", "plugins", harness.PluginName); Dig(p, "moduleName") != harness.PluginModule || Dig(p, "version") == nil {
		t.Errorf("values.yaml: experimental.plugins.%s is %v", harness.PluginName, p)
	}
	secret := load("secret.yaml")[0]
	if secret["kind"] != "Secret" || Dig(secret, "metadata", "name") != "authgear-webhook" || Dig(secret, "stringData", "secret") == nil {
		t.Errorf("secret.yaml does not hold the key the Middleware's urn:k8s:secret:authgear-webhook:secret names")
	}
}
