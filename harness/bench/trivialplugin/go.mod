module github.com/traefik-authgear/trivial

go 1.22
