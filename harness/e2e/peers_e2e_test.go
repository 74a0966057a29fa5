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

// TestOneDeliveryEvictsOnEveryReplica: three Traefik processes with the same
// dynamic configuration, on 127.0.0.1, 127.0.0.2 and 127.0.0.3 (standing for
// three pods' IPs) and one port, list each other in webhookPeers. A
// delivery to the first evicts on all three; a forged one nowhere; with one
// replica down the delivery is still answered within the relay timeout and
// the others still evict.
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
	// callsFor sends one request with the session to each replica and
	// returns the resolver calls they made.
	callsFor := func(user string, on []*stack.Stack) int64 {
		t.Helper()
		n := calls(s.Resolver)
		for _, r := range on {
			get(t, r, "/peers/x", cookie(user)...).wantStatus(t, http.StatusOK)
		}
		return n()
	}
	deliver := func(user string, signature func(body string) string) (reply, time.Duration) {
		t.Helper()
		body := fmt.Sprintf(`{"type":"user.disabled","context":{"user_id":%q}}`, users[user].ID)
		start := time.Now()
		return request(t, s, http.MethodPost, hook, body, "X-Authgear-Body-Signature", signature(body)), time.Since(start)
	}
	signed := func(body string) string { return sign(secret, body) }

	callsFor("alice", replicas)
	callsFor("bob", replicas)
	if n := callsFor("alice", replicas) + callsFor("bob", replicas); n != 0 {
		t.Fatalf("%d resolver calls for cached users", n)
	}

	if got, _ := deliver("alice", func(string) string { return strings.Repeat("0", 64) }); got.status != http.StatusUnauthorized {
		t.Fatalf("forged delivery: status %d", got.status)
	}
	if n := callsFor("alice", replicas); n != 0 {
		t.Fatalf("after a forged delivery alice's requests made %d resolver calls, want 0", n)
	}

	if got, _ := deliver("alice", signed); got.status != http.StatusOK || !strings.Contains(got.body, "relayed to 3 of 3 peers") {
		t.Fatalf("delivery: %d %q", got.status, got.body)
	}
	if n := callsFor("alice", replicas); n != 3 {
		t.Errorf("alice's next request on each replica: %d resolver calls, want 3", n)
	}
	if n := callsFor("bob", replicas); n != 0 {
		t.Errorf("bob's next request on each replica: %d resolver calls, want 0", n)
	}

	if err := replicas[2].Traefik.Stop(); err != nil {
		t.Logf("stopping the third replica: %v", err)
	}
	if c, err := net.DialTimeout("tcp", addrs[2], time.Second); err == nil {
		c.Close()
		t.Fatalf("%s still accepts connections after Stop", addrs[2])
	}
	got, took := deliver("bob", signed)
	if got.status != http.StatusOK || !strings.Contains(got.body, "relayed to 2 of 3 peers") {
		t.Fatalf("delivery with a replica down: %d %q", got.status, got.body)
	}
	if took > 4*time.Second {
		t.Errorf("the delivery took %s with a replica down, want within the 2 s relay timeout", took)
	}
	if n := callsFor("bob", replicas[:2]); n != 2 {
		t.Errorf("bob's next request on the two live replicas: %d resolver calls, want 2", n)
	}
}
