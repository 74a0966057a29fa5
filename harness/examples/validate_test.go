package examples

import "testing"

func TestValidateCatchesATypo(t *testing.T) {
	schemas, err := CRDSchemas()
	if err != nil {
		t.Fatal(err)
	}
	bad := map[string]any{"apiVersion": "traefik.io/v1alpha1", "kind": "Middleware", "metadata": map[string]any{"name": "x"},
		"spec": map[string]any{"plugins": map[string]any{}}}
	if errs := Validate("Middleware", bad, schemas["Middleware"]); len(errs) == 0 {
		t.Fatal("a mistyped spec field passed the schema check")
	}
}
