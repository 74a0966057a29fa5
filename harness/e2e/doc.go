// Package e2e holds the end-to-end tests: a real Traefik (v3.6.12) loading the
// plugin from this repository's source, the stand-in resolver and the echo
// backend in process. They carry the build tag e2e:
//
//	go test -tags e2e -count=1 ./e2e/
//
// Without the tag only the README checks run (readme_test.go): every
// configuration snippet in testdata/readme must appear verbatim in readme.md,
// and the snippets the end-to-end tests cannot run here (Kubernetes) must
// configure the plugin exactly as the ones they do run.
package e2e
