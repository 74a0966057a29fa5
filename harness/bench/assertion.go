package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"reflect"
	"runtime"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	authgear "github.com/traefik-authgear/traefik-authgear"
	"github.com/traefik-authgear/traefik-authgear/harness/internal/stack"
	"github.com/traefik-authgear/traefik-authgear/harness/interpreted"
)

// The signed identity's costs beside the table's plugin-hit-assertion row:
// what signing adds to each resolver answer, compiled and under Yaegi (the
// plugin mints an assertion once per answer, on the request that brought
// the answer), what one ES256 signature costs at the least, and the memory
// an assertion adds to each cached session.

// assertionResult is what jwtAssertion costs.
type assertionResult struct {
	mem      *memResult      // memory per cached session with jwtAssertion on
	signing  []signingResult // compiled, then Yaegi
	ecdsaNs  float64         // one compiled P-256 signature of a SHA-256 digest: the floor
	tokenLen int             // bytes of an assertion of a generated bench user
	err      error           // what of the signing cost could not be measured
}

// signingResult is one runtime's cost of a resolver answer, a cache miss
// through ServeHTTP, without and with jwtAssertion, round by round.
type signingResult struct {
	runtime       string    // "compiled" or "Yaegi"
	plain, signed []float64 // median ns of an answer, one figure per round
}

// cost is what signing adds to an answer: the median of the per-round
// differences (a drift of the machine's load cancels out), lowest, highest.
func (r signingResult) cost() (med, lo, hi float64) {
	var diffs []float64
	for i := range r.plain {
		if i < len(r.signed) {
			diffs = append(diffs, r.signed[i]-r.plain[i])
		}
	}
	if len(diffs) == 0 {
		return median(nil), median(nil), median(nil)
	}
	return median(diffs), slices.Min(diffs), slices.Max(diffs)
}

// The signing figure: signingRounds rounds of signingBatch answers per
// variant (fewer when the stand-in has too few free sessions, but at least
// minBatch), after one round of warm-up; each answer is a session no cache
// has seen.
const (
	signingRounds = 8
	signingBatch  = 200
	minBatch      = 20
)

// measureAssertion measures the memory per cached session with jwtAssertion
// on (a failure ends the bench, as for the memory figure), then the signing
// cost per resolver answer (a failure goes into the report). Sessions
// session(first) to session(first+available-1) are the stand-in's and free.
func measureAssertion(ctx context.Context, dir string, ctl resolverCtl, backendURL string, sessions, first, available int, log io.Writer) (*assertionResult, error) {
	res := &assertionResult{}
	fmt.Fprintln(log, "[memory] again with jwtAssertion: true")
	var err error
	if res.mem, err = measureMemoryWith(ctx, ctl, backendURL, sessions, map[string]any{"jwtAssertion": true}, log); err != nil {
		return res, err
	}
	fmt.Fprintln(log, "bench: signing cost per resolver answer, compiled and under Yaegi")
	res.ecdsaNs = ecdsaFloor()
	res.signing, res.tokenLen, res.err = measureSigning(ctx, filepath.Join(dir, "yaegi"), ctl, first, available)
	return res, nil
}

// ecdsaFloor returns the ns of one compiled ES256 signature: SHA-256 of a
// token-sized input and a P-256 signature, what every mint pays at least.
func ecdsaFloor() float64 {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return 0
	}
	input := []byte(strings.Repeat("x", 600)) // about an assertion's signing input
	r := testing.Benchmark(func(b *testing.B) {
		for b.Loop() {
			digest := sha256.Sum256(input)
			if _, _, err := ecdsa.Sign(rand.Reader, key, digest[:]); err != nil {
				b.Fatal(err)
			}
		}
	})
	return float64(r.NsPerOp())
}

// constructor makes a middleware of the plugin with Config fields set by name.
type constructor func(next http.Handler, name string, fields map[string]any) (http.Handler, error)

// compiledPlugin makes a middleware of the plugin compiled into the bench.
func compiledPlugin(ctx context.Context) constructor {
	return func(next http.Handler, name string, fields map[string]any) (http.Handler, error) {
		cfg := authgear.CreateConfig()
		v := reflect.ValueOf(cfg).Elem()
		for field, value := range fields {
			f := v.FieldByName(field)
			if !f.IsValid() {
				return nil, fmt.Errorf("the plugin's Config has no field %s", field)
			}
			f.Set(reflect.ValueOf(value).Convert(f.Type()))
		}
		return authgear.New(ctx, next, cfg, name)
	}
}

// measureSigning times resolver answers with and without jwtAssertion,
// compiled and under Yaegi (the plugin loaded as Traefik loads it); it
// returns what it measured, the length of an assertion, and why it could
// not measure the rest.
func measureSigning(ctx context.Context, gopath string, ctl resolverCtl, first, available int) ([]signingResult, int, error) {
	batch := min(signingBatch, available/(4*(signingRounds+1)))
	if batch < minBatch {
		return nil, 0, fmt.Errorf("%d free sessions, want at least %d (raise -sessions)", available, 4*(signingRounds+1)*minBatch)
	}
	keyPEM, err := newKeyPEM()
	if err != nil {
		return nil, 0, err
	}
	m := &signingMeter{ctl: ctl, keyPEM: keyPEM, batch: batch, next: first}
	compiled, err := m.measure(ctx, "compiled", compiledPlugin(ctx))
	if err != nil {
		return nil, 0, err
	}
	out := []signingResult{compiled}
	plugin, err := interpreted.Load(gopath)
	if err != nil {
		return out, int(m.tokenLen.Load()), fmt.Errorf("loading the plugin with Yaegi: %w", err)
	}
	yaegi, err := m.measure(ctx, "Yaegi", plugin.New)
	if err != nil {
		return out, int(m.tokenLen.Load()), err
	}
	return append(out, yaegi), int(m.tokenLen.Load()), nil
}

// newKeyPEM returns a new P-256 key in PKCS#8 PEM, for jwtAssertionKey: the
// plugin then generates none (and says nothing).
func newKeyPEM() (string, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return "", err
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	return string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})), err
}

// signingMeter sends batches of new sessions through middlewares and counts
// what their next handler received.
type signingMeter struct {
	ctl    resolverCtl
	keyPEM string
	batch  int
	next   int // the next unused session
	// valid and signed count the requests the next handler got with a
	// valid session, and with an assertion too.
	valid, signed atomic.Int64
	tokenLen      atomic.Int64 // the length of the last assertion received
}

// ServeHTTP is the middlewares' next handler.
func (m *signingMeter) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Header.Get("X-Authgear-Session-Valid") == "true" {
		m.valid.Add(1)
	}
	if token := r.Header.Get("X-Authgear-Jwt-Assertion"); strings.HasPrefix(token, "ey") {
		m.signed.Add(1)
		m.tokenLen.Store(int64(len(token)))
	}
	w.WriteHeader(http.StatusNoContent)
}

// measure makes a plain and a signing middleware with newMW, warms both up
// with a round, then times signingRounds rounds.
func (m *signingMeter) measure(ctx context.Context, runtimeName string, newMW constructor) (signingResult, error) {
	res := signingResult{runtime: runtimeName}
	base := map[string]any{"ResolverURL": m.ctl.resolveURL(), "ResolverHost": stack.PublicHost, "CacheMaxEntries": 100000}
	plain, err := newMW(m, "bench-plain@"+runtimeName, base)
	if err != nil {
		return res, fmt.Errorf("%s: %w", runtimeName, err)
	}
	withKey := map[string]any{"JWTAssertion": true, "JWTAssertionKey": m.keyPEM}
	maps.Copy(withKey, base)
	signing, err := newMW(m, "bench-signed@"+runtimeName, withKey)
	if err != nil {
		return res, fmt.Errorf("%s: %w", runtimeName, err)
	}
	for round := -1; round < signingRounds; round++ {
		p, s, err := m.timeRound(ctx, plain, signing)
		if err != nil {
			return res, fmt.Errorf("%s: %w", runtimeName, err)
		}
		if round >= 0 {
			res.plain, res.signed = append(res.plain, p), append(res.signed, s)
		}
	}
	return res, nil
}

// timeRound sends batch new sessions through each middleware, the two
// interleaved request by request (which goes first alternates), so that
// the machine's load weighs on both alike, and returns the median ns of an
// answer of each: a median, not a mean, so that a request that waited for
// the CPU does not move it. Every request must reach the next handler with a
// valid session, and with an assertion exactly when signed.
func (m *signingMeter) timeRound(ctx context.Context, plain, signing http.Handler) (float64, float64, error) {
	reqs := make([]*http.Request, 2*m.batch)
	for i := range reqs {
		reqs[i] = httptest.NewRequestWithContext(ctx, http.MethodGet, "http://app.example.test/small", nil)
		reqs[i].Header.Set("Cookie", "session="+session(m.next))
		m.next++
	}
	valid, withAssertion := m.valid.Load(), m.signed.Load()
	var tookPlain, tookSigned []float64
	runtime.GC()
	for i, req := range reqs {
		signed := (i+i/2)%2 == 1 // pairs alternate: plain first, then signed first
		h := plain
		if signed {
			h = signing
		}
		start := time.Now()
		h.ServeHTTP(httptest.NewRecorder(), req)
		took := float64(time.Since(start).Nanoseconds())
		if signed {
			tookSigned = append(tookSigned, took)
		} else {
			tookPlain = append(tookPlain, took)
		}
	}
	if err := ctx.Err(); err != nil {
		return 0, 0, err
	}
	gotValid, gotSigned := m.valid.Load()-valid, m.signed.Load()-withAssertion
	if gotValid != int64(2*m.batch) || gotSigned != int64(m.batch) {
		return 0, 0, fmt.Errorf("%d new sessions reached the backend %d times with a valid session and %d times with an assertion, want %d and %d",
			2*m.batch, gotValid, gotSigned, 2*m.batch, m.batch)
	}
	return median(tookPlain), median(tookSigned), nil
}

// writeAssertion writes the signed identity's section: the hit rows side by
// side, the signing cost per resolver answer, and the memory per session.
func writeAssertion(b *strings.Builder, r *report) {
	a := r.assertion
	b.WriteString("## Signed identity (`jwtAssertion: true`)\n\n")
	for _, p := range r.phases {
		hit, signed := p.rows["plugin-hit"], p.rows["plugin-hit-assertion"]
		if hit == nil || signed == nil {
			continue
		}
		med, lo, hi := pairedRatio(signed, hit, figRPS)
		fmt.Fprintf(b, "Cache hits at %s resolver latency: plugin-hit-assertion %s req/s, %.2f × plugin-hit's per round (%.2f–%.2f); proxy CPU per request %s vs %s.\n\n",
			fmtLatency(p.latency), fmtInt(signed.rps), med, lo, hi, fmtCPU(signed.cpuPerRequestUS), fmtCPU(hit.cpuPerRequestUS))
	}
	fmt.Fprintf(b, "Signing cost per resolver answer: %d rounds (after a round of warm-up) of up to %d answers per variant, each a session no cache has seen, sent one at a time through `ServeHTTP` of two middlewares over the bench's stand-in, one without `jwtAssertion` and one with it (a key in `jwtAssertionKey`), their requests interleaved; in this process, compiled, and loaded with Yaegi as Traefik loads it. A round's figure is the median answer; the signing cost is the median of the per-round differences (lowest–highest). One ES256 signature alone (SHA-256 and a P-256 signature, compiled; Yaegi runs the standard library compiled too) takes %s.\n\n",
		signingRounds, signingBatch, fmtNs(a.ecdsaNs))
	if a.err != nil {
		fmt.Fprintf(b, "**Not measured in full:** %v\n\n", a.err)
	}
	var rows [][]string
	for _, s := range a.signing {
		med, lo, hi := s.cost()
		rows = append(rows, []string{s.runtime, fmtNs(median(s.plain)), fmtNs(median(s.signed)),
			fmt.Sprintf("%s (%s – %s)", fmtNs(med), fmtNs(lo), fmtNs(hi))})
	}
	if len(rows) > 0 {
		writeTable(b, true, []string{"plugin", "answer without", "answer with `jwtAssertion`", "signing adds"}, rows)
	}
	if a.mem == nil {
		return
	}
	rss, heap := a.mem.perEntry()
	fmt.Fprintf(b, "Memory per cached session with `jwtAssertion: true` (each answer holds its assertion: %d bytes for a generated bench user), measured as in the memory section, with a Traefik of its own.\n\n", a.tokenLen)
	mrows := [][]string{{"with `jwtAssertion`", fmtBytes(rss), fmtBytes(heap)}}
	if r.mem != nil {
		plainRSS, plainHeap := r.mem.perEntry()
		mrows = append([][]string{{"without", fmtBytes(plainRSS), fmtBytes(plainHeap)}}, mrows...)
		mrows = append(mrows, []string{"**the assertion adds**", "**" + fmtBytes(rss-plainRSS) + "**", "**" + fmtBytes(heap-plainHeap) + "**"})
	}
	writeTable(b, true, []string{"per cached session", "RSS", "live heap after GC"}, mrows)
}
