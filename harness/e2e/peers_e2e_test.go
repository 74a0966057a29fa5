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
)

// TestOneDeliveryEvictsOnEveryReplica: three Traefiks on 127.0.0.1-3 (three
// pods) and one port list each other in webhookPeers. A delivery evicts on
// all three, a forged one nowhere; with one down, it is answered within the
// relay timeout and the others evict.
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
	for _, step := range []struct {
		what      string
		stop      bool   // stop the third replica first
		user, key string // a user.disabled delivery to the first replica, signed with key
		status    int
		answer    string
		alice     int64 // resolver calls of each user's next requests on the live replicas
		bob       int64
	}{
		{what: "both cached", alice: 0, bob: 0},
		{what: "forged delivery", user: "alice", key: "another key", status: 401, alice: 0, bob: 0},
		{what: "delivery for alice", user: "alice", key: secret, status: 200, answer: "relayed to 3 of 3 peers", alice: 3, bob: 0},
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
			body := fmt.Sprintf(`{"type":"user.disabled","context":{"user_id":%q}}`, users[step.user].ID)
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
