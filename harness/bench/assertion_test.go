package main

import (
	"context"
	"errors"
	"math"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/traefik-authgear/traefik-authgear/harness/internal/stack"
	"github.com/traefik-authgear/traefik-authgear/harness/internal/standin"
)

// TestSigningCost: the cost is the median of the per-round differences,
// with their range; rounds that do not pair give NaN.
func TestSigningCost(t *testing.T) {
	s := signingResult{plain: []float64{100, 300, 200}, signed: []float64{130, 310, 260}}
	if med, lo, hi := s.cost(); med != 30 || lo != 10 || hi != 60 {
		t.Errorf("cost = %v (%v–%v), want 30 (10–60)", med, lo, hi)
	}
	if med, _, _ := (signingResult{}).cost(); !math.IsNaN(med) {
		t.Errorf("no rounds: cost %v, want NaN", med)
	}
}

// startSessionResolver serves a stand-in that knows session(0) to
// session(n-1), each a user of its own, on loopback.
func startSessionResolver(t *testing.T, n int) resolverCtl {
	t.Helper()
	cfg := standin.Config{PublicHost: stack.PublicHost}
	for i := range n {
		cfg.Users = append(cfg.Users, standin.User{ID: userID(i), Sessions: []string{session(i)}, Roles: []string{"admin"}, Verified: true, AMR: "pwd"})
	}
	srv := httptest.NewServer(standin.New(cfg))
	t.Cleanup(srv.Close)
	return resolverCtl(strings.TrimPrefix(srv.URL, "http://"))
}

// TestSigningMeter: the compiled plugin's answers are timed in rounds, each
// a figure per variant, and an assertion is received for every signed
// answer; sessions the stand-in does not know fail the measurement, as a
// misconfigured plugin would.
func TestSigningMeter(t *testing.T) {
	ctl := startSessionResolver(t, 4*(signingRounds+1)*minBatch)
	ctx := context.Background()
	key, err := newKeyPEM()
	if err != nil {
		t.Fatal(err)
	}
	m := &signingMeter{ctl: ctl, keyPEM: key, batch: minBatch}
	res, err := m.measure(ctx, "compiled", compiledPlugin(ctx))
	if err != nil {
		t.Fatal(err)
	}
	if len(res.plain) != signingRounds || len(res.signed) != signingRounds || m.signed.Load() != int64((signingRounds+1)*minBatch) {
		t.Errorf("%d and %d rounds, %d assertions; want %d rounds each and %d assertions",
			len(res.plain), len(res.signed), m.signed.Load(), signingRounds, (signingRounds+1)*minBatch)
	}
	if n := m.tokenLen.Load(); n < 300 {
		t.Errorf("assertion of %d bytes, want a signed JWT", n)
	}
	unknown := &signingMeter{ctl: ctl, keyPEM: key, batch: minBatch, next: 1 << 20}
	if _, err := unknown.measure(ctx, "compiled", compiledPlugin(ctx)); err == nil || !strings.Contains(err.Error(), "0 times with a valid session") {
		t.Errorf("unknown sessions: %v, want the measurement refused", err)
	}
}

// TestWriteAssertion: the section shows the hit rows side by side, the
// signing cost of each runtime and the memory an assertion adds.
func TestWriteAssertion(t *testing.T) {
	fast := fakePhase(0, map[string][3]float64{"plugin-hit": {10000, 1000, 3000}, "plugin-hit-assertion": {9000, 1100, 3300}})
	r := &report{
		phases: []*phase{fast},
		mem:    &memResult{sessions: 1000, before: memSnapshot{rss: 1 << 20, heap: 1 << 19}, after: memSnapshot{rss: 1<<20 + 800000, heap: 1<<19 + 600000}},
		assertion: &assertionResult{
			mem:     &memResult{sessions: 1000, before: memSnapshot{rss: 1 << 20, heap: 1 << 19}, after: memSnapshot{rss: 1<<20 + 1800000, heap: 1<<19 + 1400000}},
			signing: []signingResult{{runtime: "compiled", plain: []float64{50000, 52000}, signed: []float64{70000, 74000}}},
			ecdsaNs: 18000, tokenLen: 640, err: errors.New("Yaegi: test"),
		},
	}
	var b strings.Builder
	writeAssertion(&b, r)
	for _, want := range []string{
		"Cache hits at 0 ms resolver latency: plugin-hit-assertion 9,000 req/s, 0.90 × plugin-hit's per round (0.90–0.90); proxy CPU per request 10 µs vs 10 µs.",
		"| compiled | 51.0 µs | 72.0 µs | 21.0 µs (20.0 µs – 22.0 µs) |",
		"takes 18.0 µs",
		"**Not measured in full:** Yaegi: test",
		"640 bytes",
		"| without | 800 B | 600 B |", "| with `jwtAssertion` | 1800 B | 1400 B |", "| **the assertion adds** | **1000 B** | **800 B** |",
	} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("section lacks %q:\n%s", want, b.String())
		}
	}
	if md := r.markdown(); !strings.Contains(md, "## Signed identity") {
		t.Errorf("the report lacks the section:\n%s", md)
	}
}
