#!/usr/bin/env bash
# Runs the plugin package's tests under Yaegi v0.16.1, the interpreter that
# Traefik embeds: code that passes `go test` can still fail there.
#
# Yaegi resolves imports GOPATH-style, so the package is linked into a
# temporary GOPATH at its module path. Yaegi runs as a tool from the Go module
# proxy: the root go.mod must not require it (the plugin catalog rejects that).
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
module=$(sed -n 's/^module //p' "$root/go.mod")
gopath=$(mktemp -d "${TMPDIR:-/tmp}/yaegi-gopath.XXXXXX")
trap 'rm -rf "$gopath"' EXIT
mkdir -p "$gopath/src/$(dirname "$module")"
ln -s "$root" "$gopath/src/$module"

yaegi=${YAEGI_BIN:-}
if [ -z "$yaegi" ]; then
	GOBIN="$gopath/bin" go install github.com/traefik/yaegi/cmd/yaegi@v0.16.1
	yaegi="$gopath/bin/yaegi"
fi
cd "$gopath/src/$module"
echo "yaegi test $module (Yaegi v0.16.1)"
GODEBUG="${GODEBUG:+$GODEBUG,}httpcookiemaxnum=3000" GOPATH="$gopath" GO111MODULE=off "$yaegi" test "$@" .
