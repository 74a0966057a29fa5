//go:build e2e

package e2e

import (
	"fmt"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/traefik-authgear/traefik-authgear/harness/internal/harness"
	"github.com/traefik-authgear/traefik-authgear/harness/internal/stack"
	"github.com/traefik-authgear/traefik-authgear/harness/internal/standin"
)

// TestRoutersAndReloadsShareTheCache: Traefik builds a middleware per router
// and per reload. Two routers share the cache; a reload with the same
// settings keeps it warm, and so does one that changes only the policy (the
// cache belongs to the Authgear app); other resolver-side settings start a
// new one.
func TestRoutersAndReloadsShareTheCache(t *testing.T) {
	auth := func(opts map[string]any) []stack.Middleware {
		return []stack.Middleware{{Name: "auth", Options: opts}}
	}
	routes := routed("auth", "/a/", "/b/")
	s := startT(t, stack.Options{Middlewares: auth(map[string]any{"cacheTTL": "60s"}), Routes: routes})
	n := calls(s.Resolver)
	for _, step := range []struct {
		name   string
		reload map[string]any // reload with these options and a router at path first
		path   string
		user   string
		calls  int64 // in all, after the step
	}{
		{"first router", nil, "/a/", "alice", 1},
		{"second router", nil, "/b/", "alice", 1},
		{"another user, second router", nil, "/b/", "bob", 2},
		{"another user, first router", nil, "/a/", "bob", 2},
		{"same settings, new router", map[string]any{"cacheTTL": "60s"}, "/probe1/", "alice", 2},
		{"same settings written differently", map[string]any{"cacheTTL": "1m"}, "/probe2/", "alice", 2},
		{"another policy, same app", map[string]any{"cacheTTL": "60s", "allowedRoles": "admin", "requireVerified": true}, "/probe3/", "alice", 2},
		{"other resolver-side settings", map[string]any{"cacheTTL": "61s"}, "/probe4/", "alice", 3},
	} {
		paths := []string{step.path}
		if step.reload != nil {
			routes = append(routes, routed("auth", step.path)...)
			if err := s.Reload(auth(step.reload), routes); err != nil {
				t.Fatal(err)
			}
			paths = append(paths, "/a/")
		}
		for _, p := range paths {
			get(t, s, p+"x", cookie(step.user)...).wantStatus(t, http.StatusOK).wantIdentity(t, identityOf(t, step.user))
		}
		if n() != step.calls {
			t.Errorf("%s: %d resolver calls, want %d", step.name, n(), step.calls)
		}
	}
}

// TestMistypedOptionFailsLoudly: a mistyped option (Traefik's decoder would
// drop it) is refused: Traefik logs why, the router answers 404, the others
// go on.
func TestMistypedOptionFailsLoudly(t *testing.T) {
	good := []stack.Middleware{{Name: "good"}}
	s := startT(t, stack.Options{Middlewares: good})
	for i, typo := range []struct {
		option, want string
	}{
		{"allowedRole", `unknown option \"allowedRole\": did you mean \"allowedRoles\"?`},
		{"requireSesion", `unknown option \"requireSesion\": did you mean \"requireSession\"?`},
	} {
		bad := stack.Middleware{Name: "typo", Options: map[string]any{"resolverURL": s.Resolver.URL, typo.option: "admin"}}
		// A new router through the good middleware shows the reload applied.
		goodRoutes := routed("good", "/good/", "/good-"+string(rune('a'+i))+"/")
		if err := s.Traefik.WriteDynamic(s.Dynamic(append(good, bad), append(goodRoutes, routed("typo", "/typo/")...))); err != nil {
			t.Fatal(err)
		}
		if err := s.WaitRoutes(goodRoutes, nil); err != nil {
			t.Fatal(err)
		}
		get(t, s, "/typo/x", cookie("bob")...).wantStatus(t, http.StatusNotFound)
		if logs := s.Traefik.Logs(); !strings.Contains(logs, typo.want) {
			t.Errorf("Traefik's log does not say %s:\n%s", typo.want, logs[max(0, len(logs)-2000):])
		}
	}
}

// TestRemovedRoleReachesTheBackendWithoutARequestWaiting: with
// staleWhileRevalidate a removed role takes effect after cacheTTL plus one
// request, and no request waits for the 3 s resolver.
func TestRemovedRoleReachesTheBackendWithoutARequestWaiting(t *testing.T) {
	s := startT(t, stack.Options{Middlewares: []stack.Middleware{
		{Name: "fresh", Options: map[string]any{"cacheTTL": "1s", "staleWhileRevalidate": "5m", "allowedRoles": "admin"}},
	}})
	r := s.Resolver
	get(t, s, "/fresh/x", cookie("alice")...).wantStatus(t, http.StatusOK)

	users := r.Users()
	for i := range users {
		if users[i].ID == identityOf(t, "alice")["x-authgear-user-id"] {
			users[i].Roles = []string{"editor"}
		}
	}
	r.SetUsers(users)
	r.SetFault(standin.Fault{Latency: 3 * time.Second})
	time.Sleep(1200 * time.Millisecond) // cacheTTL passes

	sawOld, sawNew := false, false
	for deadline := time.Now().Add(15 * time.Second); time.Now().Before(deadline) && !sawNew; {
		start := time.Now()
		rep := get(t, s, "/fresh/x", cookie("alice")...)
		if took := time.Since(start); took > 2*time.Second {
			t.Fatalf("a request took %s: it waited for the resolver", took)
		}
		switch rep.status {
		case http.StatusOK:
			sawOld = true
		case http.StatusForbidden:
			sawNew = true
		default:
			t.Fatalf("status %d %q", rep.status, rep.body)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if !sawOld || !sawNew {
		t.Fatalf("served the cached answer: %v; then the refreshed one (403): %v", sawOld, sawNew)
	}
	if got := r.Calls(); got != 2 {
		t.Errorf("resolver calls = %d, want 2: the miss and one background refresh", got)
	}
}

// TestOneDeliveryEvictsOnEveryReplica: three Traefiks on 127.0.0.1-3 (three
// pods) and one port list each other in webhookPeers. A delivery evicts on
// all three, a forged one nowhere, a replayed one nowhere again; with one
// down, it is answered within the relay timeout and the others evict.
func TestOneDeliveryEvictsOnEveryReplica(t *testing.T) {
	const secret, hook = "peers-webhook-secret", "/peers/_authgear/webhook"
	first, err := harness.FreeAddr()
	if err != nil {
		t.Fatal(err)
	}
	_, port, _ := net.SplitHostPort(first)
	addrs := []string{first, "127.0.0.2:" + port, "127.0.0.3:" + port}
	mws := []stack.Middleware{{Name: "peers", Options: map[string]any{
		"cacheTTL": "10m", "webhookPath": hook, "webhookSecret": secret, "webhookPeers": strings.Join(addrs, ","),
	}}}
	s := startT(t, stack.Options{Middlewares: mws, Traefik: harness.Options{EntryAddr: first}})
	replicas := []*stack.Stack{s}
	for _, addr := range addrs[1:] {
		replicas = append(replicas, startT(t, stack.Options{
			Middlewares: mws, ResolverURL: s.Resolver.URL, ResolverHost: stack.PublicHost, BackendURL: s.Backend.URL,
			Traefik: harness.Options{EntryAddr: addr},
		}))
	}
	// callsFor returns the resolver calls of user's request to each replica.
	live := replicas
	callsFor := func(user string) int64 {
		t.Helper()
		n := calls(s.Resolver)
		for _, r := range live {
			get(t, r, "/peers/x", cookie(user)...).wantStatus(t, http.StatusOK)
		}
		return n()
	}
	callsFor("alice")
	callsFor("bob")
	body := "" // the latest delivery's
	for _, step := range []struct {
		what      string
		stop      bool   // stop the third replica first
		user, key string // a user.disabled delivery to the first replica, signed with key
		replay    bool   // the previous step's delivery again
		status    int
		answer    string
		alice     int64 // resolver calls of each user's next requests on the live replicas
		bob       int64
	}{
		{what: "both cached", alice: 0, bob: 0},
		{what: "forged delivery", user: "alice", key: "another key", status: 401, alice: 0, bob: 0},
		{what: "delivery for alice", user: "alice", key: secret, status: 200, answer: "relayed to 3 of 3 peers", alice: 3, bob: 0},
		{what: "the same delivery replayed", replay: true, user: "alice", key: secret, status: 200, answer: "duplicate", alice: 0, bob: 0},
		{what: "one replica down, delivery for bob", stop: true, user: "bob", key: secret, status: 200, answer: "relayed to 2 of 3 peers", alice: 0, bob: 2},
	} {
		if step.stop {
			if err := replicas[2].Traefik.Stop(); err != nil {
				t.Logf("stopping the third replica: %v", err)
			}
			if c, err := net.DialTimeout("tcp", addrs[2], time.Second); err == nil {
				c.Close()
				t.Fatalf("%s still accepts connections after Stop", addrs[2])
			}
			live = replicas[:2]
		}
		if step.user != "" {
			if !step.replay {
				body = fmt.Sprintf(`{"id":"%s-%d","type":"user.disabled","context":{"user_id":%q,"timestamp":%d}}`, t.Name(), time.Now().UnixNano(), users[step.user].ID, time.Now().Unix())
			}
			start := time.Now()
			got := request(t, s, http.MethodPost, hook, body, "X-Authgear-Body-Signature", sign(step.key, body))
			if got.status != step.status || !strings.Contains(got.body, step.answer) {
				t.Fatalf("%s: %d %q, want %d %q", step.what, got.status, got.body, step.status, step.answer)
			}
			if took := time.Since(start); took > 4*time.Second {
				t.Errorf("%s took %s, want within the 2 s relay timeout", step.what, took)
			}
		}
		if alice, bob := callsFor("alice"), callsFor("bob"); alice != step.alice || bob != step.bob {
			t.Errorf("%s: alice's and bob's next requests made %d and %d resolver calls, want %d and %d", step.what, alice, bob, step.alice, step.bob)
		}
	}
}
