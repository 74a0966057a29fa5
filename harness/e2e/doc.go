// Package e2e holds the end-to-end tests: a real Traefik (v3.6.12) loading the
// plugin from this repository's source, the stand-in resolver and the echo
// backend in process. They carry the build tag e2e:
//
//	go test -tags e2e -count=1 ./e2e/
//
// Without the tag only the documentation's checks run: every configuration
// snippet in testdata/readme must appear verbatim in readme.md or a page of
// docs/, the snippets the end-to-end tests cannot run here (Kubernetes) must
// configure the plugin exactly as the ones they do run, and the README's
// options table must list every option (readme_test.go); no link or anchor
// of the repository's Markdown may be broken (links_test.go).
package e2e
