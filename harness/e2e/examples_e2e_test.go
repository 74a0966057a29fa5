//go:build e2e

package e2e

import (
	"encoding/json"
	"net/http"
	"sort"
	"strings"
	"testing"

	"github.com/traefik-authgear/traefik-authgear/harness/examples"
)

// TestExamplesLoadInTraefik: every middleware of examples/ (Docker labels,
// the file provider, the Kubernetes Middleware), decoded as Traefik decodes
// it, loads in a real Traefik, with only the resolver pointed at the
// stand-in: alice (an admin) gets through, a request without a session is
// refused as the example's policy says.
func TestExamplesLoadInTraefik(t *testing.T) {
	all, err := examples.All()
	if err != nil {
		t.Fatal(err)
	}
	names := make([]string, 0, len(all))
	for n := range all {
		names = append(names, n)
	}
	sort.Strings(names)
	var mws []middleware
	for _, n := range names {
		opts, err := examples.Ready(all[n], t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		var lines []string
		for k, v := range opts {
			if k == "resolverURL" || k == "resolverHost" {
				continue // the environment's stand-in
			}
			b, err := json.Marshal(v)
			if err != nil {
				t.Fatal(err)
			}
			lines = append(lines, k+": "+string(b))
		}
		sort.Strings(lines)
		mws = append(mws, middleware{name: "ex-" + strings.ReplaceAll(n, "/", "-"), options: lines})
	}
	e := startEnvT(t, mws)
	alice := identityOf(t, "alice")
	for _, mw := range mws {
		route := mw.routesOrDefault()[0]
		e.get(t, route+"x", "Cookie", "session=alice-session").wantStatus(t, http.StatusOK).wantIdentity(t, alice)
		if rep := e.get(t, route+"x"); rep.status != http.StatusUnauthorized && rep.status != http.StatusFound {
			t.Errorf("%s without a session: %d, want the policy's 401 or 302", mw.name, rep.status)
		}
	}
}
