package authgear

import (
	"net/http"
	"testing"
	"time"
)

// An assertion is re-minted by one hit once it comes within 30 s of its
// exp; while that hit mints, the others go on with the one they have.
func TestAnAssertionIsReMintedOnceAtItsMargin(t *testing.T) {
	m := newMiddleware(t, t.Name(), func(c *Config) { c.JWTAssertion = true; c.JWTAssertionLifetime = "10s" })
	ans := newAnswer(http.Header{"X-Authgear-Session-Valid": {"true"}, "X-Authgear-User-Id": {"u"}})
	t0 := time.Now().UnixNano()
	second := int64(time.Second)
	first := assertionAt(m, ans, t0) // exp: t0 + 10 s + 60 s of leeway; renewed from t0 + 40 s
	held := func() *assertion {
		m.cache.mu.Lock()
		defer m.cache.mu.Unlock()
		return heldAssertion(ans, m.signer)
	}
	if got := held(); got == nil || got.token != first || got.exp != t0+70*second {
		t.Fatalf("held %+v, want the first assertion with exp t0 + 70 s", got)
	}
	for _, tt := range []struct {
		name    string
		at      int64
		minting bool // another hit is minting the successor
		same    bool // the hit gets the assertion held before it
	}{
		{"well before the margin", t0 + 39*second, false, true},
		{"at the margin, while another hit mints", t0 + 41*second, true, true},
		{"at the margin", t0 + 41*second, false, false}, // its successor: exp t0 + 111 s
		{"past exp, even while another hit mints", t0 + 112*second, true, false},
	} {
		before := held()
		m.cache.mu.Lock()
		before.minting = tt.minting
		m.cache.mu.Unlock()
		got := assertionAt(m, ans, tt.at)
		if (got == before.token) != tt.same {
			t.Fatalf("%s: same assertion %v, want %v", tt.name, got == before.token, tt.same)
		}
		if after := held(); after.token != got || (after.minting && !tt.same) {
			t.Fatalf("%s: the answer holds %+v, want the one served (a new one not minting)", tt.name, after)
		}
	}
	if n := len(ans.assertions); n != 1 {
		t.Fatalf("the answer holds %d assertions of one middleware, want 1", n)
	}
}
