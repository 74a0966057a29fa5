module github.com/traefik-authgear/traefik-authgear/harness

go 1.24.0

require github.com/traefik-authgear/traefik-authgear v0.0.0

require github.com/traefik/yaegi v0.16.1 // indirect

replace github.com/traefik-authgear/traefik-authgear => ../
