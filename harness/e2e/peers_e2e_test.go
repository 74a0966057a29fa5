//go:build e2e

package e2e

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/traefik-authgear/traefik-authgear/harness/internal/harness"
)

const peersSecret = "peers-webhook-secret"

// TestOneDeliveryEvictsOnEveryReplica: three Traefik processes with the same
// dynamic configuration, on 127.0.0.1, 127.0.0.2 and 127.0.0.3 (standing for
// three pods' IPs) and one port, list each other in webhookPeers. A
// delivery to the first evicts on all three; a forged one nowhere; with one
// replica down the delivery is still answered within the relay timeout and
// the others still evict.
func TestOneDeliveryEvictsOnEveryReplica(t *testing.T) {
	first, err := harness.FreeAddr()
	if err != nil {
		t.Fatal(err)
	}
	_, port, _ := net.SplitHostPort(first)
	addrs := []string{first, "127.0.0.2:" + port, "127.0.0.3:" + port}
	mw := middleware{name: "peers", options: []string{
		"cacheTTL: 10m",
		"webhookPath: /peers/_authgear/webhook",
		"webhookSecret: " + peersSecret,
		"webhookPeers: " + strings.Join(addrs, ","),
	}}
	e, err := startEnvWith([]middleware{mw}, harness.Options{EntryAddr: first})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.close)
	replicas := []*harness.Traefik{e.traefik}
	for _, addr := range addrs[1:] {
		tr, err := harness.Start(context.Background(), harness.Options{EntryAddr: addr, Dynamic: e.config([]middleware{mw})})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { tr.Stop() })
		if err := tr.WaitRoute("/peers/", 30*time.Second); err != nil {
			t.Fatal(err)
		}
		replicas = append(replicas, tr)
	}
	r := e.resolver(t, "peers")
	client := newClient()
	get := func(tr *harness.Traefik, session string) {
		t.Helper()
		req, _ := http.NewRequest(http.MethodGet, tr.URL+"/peers/x", nil)
		req.Header.Set("Cookie", "session="+session)
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("%s: status %d", tr.URL, resp.StatusCode)
		}
	}
	callsFor := func(session string, on []*harness.Traefik) int64 {
		t.Helper()
		before := r.Calls()
		for _, tr := range on {
			get(tr, session)
		}
		return r.Calls() - before
	}
	deliver := func(to *harness.Traefik, userID string, forged bool) (int, string, time.Duration) {
		t.Helper()
		body := fmt.Sprintf(`{"type":"user.disabled","context":{"user_id":%q}}`, userID)
		mac := hmac.New(sha256.New, []byte(peersSecret))
		mac.Write([]byte(body))
		signature := hex.EncodeToString(mac.Sum(nil))
		if forged {
			signature = strings.Repeat("0", 64)
		}
		req, _ := http.NewRequest(http.MethodPost, to.URL+"/peers/_authgear/webhook", strings.NewReader(body))
		req.Header.Set("X-Authgear-Body-Signature", signature)
		start := time.Now()
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var b strings.Builder
		buf := make([]byte, 512)
		n, _ := resp.Body.Read(buf)
		b.Write(buf[:n])
		return resp.StatusCode, b.String(), time.Since(start)
	}
	alice, bob := identityOf(t, "alice")["x-authgear-user-id"], identityOf(t, "bob")["x-authgear-user-id"]

	// alice and bob are cached on all three.
	callsFor("alice-session", replicas)
	callsFor("bob-session", replicas)
	if n := callsFor("alice-session", replicas) + callsFor("bob-session", replicas); n != 0 {
		t.Fatalf("%d resolver calls for cached users", n)
	}

	// A forged delivery changes nothing anywhere.
	if status, _, _ := deliver(replicas[0], alice, true); status != http.StatusUnauthorized {
		t.Fatalf("forged delivery: status %d", status)
	}
	if n := callsFor("alice-session", replicas); n != 0 {
		t.Fatalf("after a forged delivery alice's requests made %d resolver calls, want 0", n)
	}

	// One signed delivery for alice, to the first replica.
	status, answer, _ := deliver(replicas[0], alice, false)
	if status != http.StatusOK || !strings.Contains(answer, "relayed to 3 of 3 peers") {
		t.Fatalf("delivery: %d %q", status, answer)
	}
	if n := callsFor("alice-session", replicas); n != 3 {
		t.Errorf("alice's next request on each replica: %d resolver calls, want 3", n)
	}
	if n := callsFor("bob-session", replicas); n != 0 {
		t.Errorf("bob's next request on each replica: %d resolver calls, want 0", n)
	}

	// One replica down: the delivery is answered within the relay timeout,
	// and the others evict.
	if err := replicas[2].Stop(); err != nil {
		t.Logf("stopping the third replica: %v", err)
	}
	if c, err := net.DialTimeout("tcp", addrs[2], time.Second); err == nil {
		c.Close()
		t.Fatalf("%s still accepts connections after Stop", addrs[2])
	}
	status, answer, took := deliver(replicas[0], bob, false)
	if status != http.StatusOK || !strings.Contains(answer, "relayed to 2 of 3 peers") {
		t.Fatalf("delivery with a replica down: %d %q", status, answer)
	}
	if took > 4*time.Second {
		t.Errorf("the delivery took %s with a replica down, want within the 2 s relay timeout", took)
	}
	if n := callsFor("bob-session", replicas[:2]); n != 2 {
		t.Errorf("bob's next request on the two live replicas: %d resolver calls, want 2", n)
	}
}
