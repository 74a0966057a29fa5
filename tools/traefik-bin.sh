#!/usr/bin/env bash
# Prints the path of a Traefik v3.6.12 binary, building it once if needed.
#
# Traefik's go.mod has replace lines, so `go install ...@v3.6.12` refuses it.
# Instead: download the module source through the Go module proxy, copy it to a
# writable temporary folder, and `go build ./cmd/traefik` there. The binary is
# cached outside the repository and reused afterwards (about 15 minutes and
# 5 GB the first time on 2 cores). TRAEFIK_BIN, when set, is used as is.
set -euo pipefail

version=v3.6.12
if [ -n "${TRAEFIK_BIN:-}" ]; then
	[ -x "$TRAEFIK_BIN" ] || { echo "TRAEFIK_BIN=$TRAEFIK_BIN is not an executable file" >&2; exit 1; }
	echo "$TRAEFIK_BIN"
	exit 0
fi

cache_dir="${XDG_CACHE_HOME:-$HOME/.cache}/traefik-authgear"
bin="$cache_dir/traefik-$version"
if [ -x "$bin" ]; then
	echo "$bin"
	exit 0
fi

mkdir -p "$cache_dir"
# One build at a time: a second caller waits for the first.
exec 9>"$cache_dir/build.lock"
flock 9
if [ -x "$bin" ]; then
	echo "$bin"
	exit 0
fi

echo "building Traefik $version once into $bin (about 15 minutes)..." >&2
# Outside any module, so that nothing here is read or written.
src_dir=$(cd "${TMPDIR:-/tmp}" && GOFLAGS=-mod=mod GO111MODULE=on go mod download -json "github.com/traefik/traefik/v3@$version" |
	sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
[ -d "$src_dir" ] || { echo "could not download github.com/traefik/traefik/v3@$version" >&2; exit 1; }

work=$(mktemp -d "${TMPDIR:-/tmp}/traefik-build.XXXXXX")
cleanup() { chmod -R u+w "$work" 2>/dev/null; rm -rf "$work" "$bin.tmp"; }
trap cleanup EXIT
trap 'exit 130' INT TERM
cp -r "$src_dir/." "$work/"
chmod -R u+w "$work"
(
	cd "$work"
	# The web UI is embedded from webui/static; the module zip lacks the built UI.
	mkdir -p webui/static
	[ -n "$(ls -A webui/static)" ] || echo '<!doctype html><title>Traefik</title>' >webui/static/index.html
	GOFLAGS=-mod=mod CGO_ENABLED=0 go build -trimpath -o "$bin.tmp" \
		-ldflags "-s -w -X github.com/traefik/traefik/v3/pkg/version.Version=$version" ./cmd/traefik
)
mv "$bin.tmp" "$bin"
echo "$bin"
