# traefik-authgear: the commands a developer and CI use.

.PHONY: test demo bench profile stress traefik fmt

# The whole test suite: gofmt, go vet, unit tests with -race, the plugin's
# tests under Yaegi v0.16.1, and end-to-end tests in a real Traefik.
test:
	tools/test.sh

# The plugin in a real Traefik on 127.0.0.1:8080 in front of an echo backend,
# against the stand-in resolver (or a real Authgear with AUTHGEAR_RESOLVER_URL).
demo:
	go -C harness run ./cmd/demo

# Prints the path of the Traefik v3.6.12 binary, building it once if needed.
traefik:
	tools/traefik-bin.sh

fmt:
	gofmt -w .

# Side-by-side benchmark: bare Traefik, this plugin, ForwardAuth and nginx
# auth_request, at 0 and 20 ms resolver latency; writes bench/results.md.
# Development: make bench BENCH_FLAGS=-quick
bench:
	go -C harness run ./bench $(BENCH_FLAGS)

# What the plugin costs Traefik per request, from Traefik's CPU profile: one
# Traefik (its debug API on a loopback entry point of its own), each target
# under wrk, 3 profiles of 10 s each, the median; prints the table and the top
# interpreted costs and writes its section of bench/results.md (about 5 min).
# Development: make profile PROFILE_FLAGS=-quick (under a minute).
# A hot-path change beside the code before it, in the same Traefik:
# make profile PROFILE_FLAGS="-baseline HEAD" (or a revision, or a plugin folder).
profile:
	go -C harness run ./bench -profile $(PROFILE_FLAGS)

# Hostile traffic and failing resolvers against a real Traefik: credential
# flood, resolver faults under load, spoofing matrix, malformed input, fuzzing,
# a 10-minute soak and 400 reloads; writes stress/results.md (about 20 min).
# Development: make stress STRESS_FLAGS=-quick
stress:
	go -C harness run ./stress $(STRESS_FLAGS)
