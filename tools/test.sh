#!/usr/bin/env bash
# The whole test suite: what `make test` and CI run.
#
#   1. gofmt, go vet and staticcheck over every package of both modules (the
#      plugin at the root, the harness under harness/; the e2e ones included);
#   2. the unit tests, compiled, with the race detector; among them the
#      harness's interpreted test, which loads the plugin into Yaegi twelve
#      times and drives each cold interpreter from 64 goroutines at once, so
#      that -race sees a data race in the interpreter's first use of a path;
#   3. the plugin package's tests under Yaegi v0.16.1, Traefik's interpreter;
#   4. the end-to-end tests: a real Traefik v3.6.12 (built once and cached,
#      see tools/traefik-bin.sh) loading the plugin in front of the stand-in
#      resolver and an echo backend, and the quick parts of the hostile-traffic
#      suite (spoofing matrix, malformed input, a few seconds of each fuzz
#      target; make stress runs the rest).
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n== %s\n' "$*"; }

step "gofmt"
unformatted=$(gofmt -l .)
if [ -n "$unformatted" ]; then
	echo "gofmt would change these files:"
	echo "$unformatted"
	exit 1
fi

step "go vet"
go vet ./...
go -C harness vet ./...
go -C harness vet -tags e2e ./...

step "staticcheck"
staticcheck=honnef.co/go/tools/cmd/staticcheck@v0.8.2
go run "$staticcheck" ./...
go -C harness run "$staticcheck" ./...
go -C harness run "$staticcheck" -tags e2e ./...

step "unit tests (compiled, race detector)"
go test -race -count=1 ./...
go -C harness test -race -count=1 ./...

step "plugin tests under Yaegi v0.16.1"
tools/yaegi-test.sh

step "end-to-end tests in a real Traefik v3.6.12"
TRAEFIK_BIN=$(tools/traefik-bin.sh)
export TRAEFIK_BIN
go -C harness test -tags e2e -count=1 -timeout 20m ./e2e/ ./internal/harness/ ./internal/stack/ ./stress/
