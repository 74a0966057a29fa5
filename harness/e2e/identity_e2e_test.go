//go:build e2e

package e2e

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/traefik-authgear/traefik-authgear/harness/internal/stack"
)

// TestNoIdentityMixups: with the cache on, users and credential sources
// interleaved concurrently over Traefik's connections, nobody gets another's
// identity.
func TestNoIdentityMixups(t *testing.T) {
	s := mainStack(t)
	type credential struct {
		headers []string
		user    string
	}
	all := []credential{{[]string{"Cookie", "theme=dark"}, ""}}
	for _, u := range []string{"alice", "bob", "carol", "anon"} {
		all = append(all, credential{cookie(u), u}, credential{[]string{"Authorization", "Bearer " + u + "-token"}, u})
	}
	for _, u := range []string{"alice", "bob"} {
		all = append(all, credential{[]string{"Cookie", "app_session=" + u + "-app-session"}, u},
			credential{[]string{"Cookie", "app_access_token=" + u + "-app-token"}, u})
	}
	wants := map[string]map[string]string{}
	for _, c := range all {
		wants[c.user] = identityOf(t, c.user)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 8*20)
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := 0; i < 20; i++ {
				c := all[(w*7+i)%len(all)]
				if err := fetch(http.MethodGet, s.URL("/basic/mixup"), "", c.headers...).checkIdentity(wants[c.user]); err != nil {
					errs <- fmt.Errorf("%v: %w", c.headers, err)
				}
			}
		}(w)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// TestResolverHost: the resolver is reached on an internal address (the
// stand-in's loopback port) while Traefik has put the API's host in
// X-Forwarded-Host; with resolverHost set to the public host a bearer token
// works, and without it the plugin sends the resolver's own address, for
// which the token resolves to nothing, as with Authgear.
func TestResolverHost(t *testing.T) {
	s := mainStack(t)
	const apiHost = "api.example.test"
	bearer := []string{"Host", apiHost, "Authorization", "Bearer alice-token"}

	r := get(t, s, "/nocache/host", bearer...).wantStatus(t, http.StatusOK)
	r.wantIdentity(t, identityOf(t, "alice"))
	if got := r.echo.Headers["X-Forwarded-Host"]; len(got) != 1 || got[0] != apiHost {
		t.Errorf("backend X-Forwarded-Host = %v, want [%s] (set by Traefik)", got, apiHost)
	}
	last := s.Resolvers["nocache"].LastRequest()
	if last.Host != stack.PublicHost || last.Header.Get("X-Forwarded-Host") != stack.PublicHost {
		t.Errorf("resolver got Host %q, X-Forwarded-Host %q; want %s for both", last.Host, last.Header.Get("X-Forwarded-Host"), stack.PublicHost)
	}
	if xff := last.Header.Get("X-Forwarded-For"); !strings.Contains(xff, "127.0.0.1") {
		t.Errorf("resolver got X-Forwarded-For %q, want the client's address", xff)
	}

	get(t, s, "/nohost/host", bearer...).wantStatus(t, http.StatusOK).wantIdentity(t, identityOf(t, ""))
	nohost := s.Resolvers["nohost"]
	own, err := url.Parse(nohost.URL)
	if err != nil {
		t.Fatal(err)
	}
	if last := nohost.LastRequest(); last.Host != own.Host {
		t.Errorf("without resolverHost the resolver got Host %q, want its own address %s", last.Host, own.Host)
	}
}

// TestRequestBodyIntact: the backend gets the method, query and a large body
// unchanged through the plugin and Traefik; the resolver gets a GET without
// a body.
func TestRequestBodyIntact(t *testing.T) {
	s := mainStack(t)
	body := strings.Repeat("The quick brown fox jumps over the lazy dog.\n", 6000) // ~270 KB
	r := s.Resolvers["nocache"]
	for _, method := range []string{http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete} {
		t.Run(method, func(t *testing.T) {
			n := calls(r)
			got := request(t, s, method, "/nocache/upload?x=1", body, append(cookie("alice"), "Content-Type", "text/plain")...).wantStatus(t, http.StatusOK)
			got.wantIdentity(t, identityOf(t, "alice"))
			if e := got.echo; e.Method != method || e.Body != body || e.Query != "x=1" {
				t.Errorf("backend got %s ?%s with %d body bytes, want %s ?x=1 with %d", e.Method, e.Query, len(e.Body), method, len(body))
			}
			if n() != 1 {
				t.Errorf("%d resolver calls, want 1", n())
			}
			last := r.LastRequest()
			if last.Method != http.MethodGet {
				t.Errorf("resolver got %s, want GET", last.Method)
			}
			for _, h := range []string{"Content-Length", "Content-Type", "Transfer-Encoding"} {
				if v := last.Header.Values(h); len(v) > 0 {
					t.Errorf("resolver got %s: %v, want none (no body)", h, v)
				}
			}
		})
	}
}
