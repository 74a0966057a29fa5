module github.com/traefik-authgear/traefik-authgear

go 1.22
