//go:build e2e

package e2e

import (
	"encoding/json"
	"maps"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/traefik-authgear/traefik-authgear/harness/internal/stack"
	"github.com/traefik-authgear/traefik-authgear/harness/internal/standin"
)

// problemDoc is the RFC 9457 problem document of a refusal to a JSON client.
type problemDoc struct {
	Type   string `json:"type"`
	Title  string `json:"title"`
	Status int    `json:"status"`
	Detail string `json:"detail"`
}

// TestStepUpPolicy: an /admin route that wants an MFA sign-in of at most 5
// minutes ago (requireAMR: [mfa], maxAuthAge: 5m, loginURL), next to an
// ordinary route over the same Authgear app. A session that falls short gets
// RFC 9470's step-up challenge (a problem document for a JSON client, a
// redirect to loginURL asking for the sign-in for a browser) and never
// reaches the backend; a recent MFA session passes with its identity; and
// the two routes share one cache: one resolver call per user, whichever
// routes they visit. The refusals are counted by reason in the metrics.
func TestStepUpPolicy(t *testing.T) {
	now := time.Now()
	people := map[string]standin.User{
		"pat": {ID: "user-pat", Sessions: []string{"pat-session"}, Verified: true, AMR: "pwd", AuthenticatedAt: now.Add(-time.Hour).Unix()},
		"mia": {ID: "user-mia", Sessions: []string{"mia-session"}, Verified: true, AMR: "mfa otp pwd", AuthenticatedAt: now.Add(-time.Minute).Unix()},
		"max": {ID: "user-max", Sessions: []string{"max-session"}, Verified: true, AMR: "mfa otp pwd", AuthenticatedAt: now.Add(-time.Hour).Unix()},
	}
	cfg := standin.Config{PublicHost: stack.PublicHost}
	for _, name := range []string{"pat", "mia", "max"} {
		cfg.Users = append(cfg.Users, people[name])
	}
	app := map[string]any{"cacheTTL": "5m"} // the resolver-side settings both share
	admin := maps.Clone(app)
	admin["requireAMR"], admin["maxAuthAge"], admin["loginURL"] = []string{"mfa"}, "5m", loginURL
	withMetrics := maps.Clone(app)
	withMetrics["metricsPath"] = "/app/metrics"
	s := startT(t, stack.Options{Users: &cfg, Middlewares: []stack.Middleware{
		{Name: "app", Options: withMetrics}, {Name: "admin", Options: admin},
	}})
	before := refusalCounts(t, s)

	const (
		html    = "text/html,application/xhtml+xml,*/*;q=0.8"
		page    = "/admin/page?tab=keys&q=a+b"
		realm   = `Bearer realm="` + stack.PublicHost + `"`
		stepUp  = realm + `, error="insufficient_user_authentication", error_description=`
		amrWant = stepUp + `"Sign in again with a stronger authentication method to access this resource."`
		ageWant = stepUp + `"Sign in again to access this resource: your sign-in is too old.", max_age=300`
	)
	login := loginURL + "?redirect_uri=" + url.QueryEscape("http://"+s.Traefik.EntryAddr+page)
	amrProblem := &problemDoc{"authentication_method", "Stronger sign-in required", 401, "Sign in again with a stronger authentication method to access this resource."}
	ageProblem := &problemDoc{"authentication_age", "Recent sign-in required", 401, "Sign in again to access this resource: your sign-in is too old."}
	n := calls(s.Resolver)
	for _, step := range []struct {
		name      string
		user      string // whose session cookie is sent ("" none)
		path      string
		accept    string
		status    int
		challenge string      // the WWW-Authenticate of a 401, exactly
		problem   *problemDoc // a 401's problem document (type: its anchor); nil for a text body
		location  string      // a 302's Location, exactly
		calls     int64       // resolver calls in all, after the step
	}{
		{name: "password only: step-up challenge", user: "pat", path: "/admin/x", status: 401, challenge: amrWant, calls: 1},
		{name: "password only, JSON client", user: "pat", path: "/admin/x", accept: "application/json", status: 401, challenge: amrWant, problem: amrProblem, calls: 1},
		{name: "password only, browser", user: "pat", path: page, accept: html, status: 302, location: login + "&prompt=login&amr_values=mfa", calls: 1},
		{name: "password only, ordinary route", user: "pat", path: "/app/x", status: 200, calls: 1},
		{name: "MFA a minute ago, ordinary route", user: "mia", path: "/app/x", status: 200, calls: 2},
		{name: "MFA a minute ago", user: "mia", path: "/admin/x", status: 200, calls: 2},
		{name: "MFA a minute ago, browser", user: "mia", path: page, accept: html, status: 200, calls: 2},
		{name: "MFA an hour ago: recent sign-in challenge", user: "max", path: "/admin/x", status: 401, challenge: ageWant, calls: 3},
		{name: "MFA an hour ago, problem+json client", user: "max", path: "/admin/x", accept: "application/problem+json", status: 401, challenge: ageWant, problem: ageProblem, calls: 3},
		{name: "MFA an hour ago, browser", user: "max", path: page, accept: html, status: 302, location: login + "&prompt=login&max_age=300", calls: 3},
		{name: "MFA an hour ago, ordinary route", user: "max", path: "/app/x", status: 200, calls: 3},
		{name: "no credential", path: "/admin/x", status: 401, challenge: realm, calls: 3},
		{name: "no credential, browser", path: page, accept: html, status: 302, location: login, calls: 3},
		{name: "no credential, ordinary route", path: "/app/x", status: 200, calls: 3},
	} {
		var headers []string
		if step.user != "" {
			headers = cookie(step.user)
		}
		if step.accept != "" {
			headers = append(headers, "Accept", step.accept)
		}
		hits := s.Backend.Hits.Load()
		got := get(t, s, step.path, headers...)
		if got.status != step.status {
			t.Fatalf("%s: status %d, want %d; WWW-Authenticate %q, body %q", step.name, got.status, step.status, got.header.Get("WWW-Authenticate"), got.body)
		}
		if step.status == http.StatusOK {
			want := map[string]string{}
			if step.user != "" {
				want = identity(people[step.user])
			}
			got.wantIdentity(t, want)
		} else if s.Backend.Hits.Load() != hits || got.echo != nil {
			t.Errorf("%s: a refused request reached the backend", step.name)
		}
		if c := strings.Join(got.header.Values("WWW-Authenticate"), " | "); c != step.challenge {
			t.Errorf("%s: WWW-Authenticate %q\nwant %q", step.name, c, step.challenge)
		}
		if l := got.header.Get("Location"); l != step.location {
			t.Errorf("%s: Location %q\nwant %q", step.name, l, step.location)
		}
		if step.status == http.StatusUnauthorized {
			checkRefusalBody(t, step.name, got, step.problem)
		}
		if c := n(); c != step.calls {
			t.Errorf("%s: %d resolver calls in all, want %d", step.name, c, step.calls)
		}
	}

	after := refusalCounts(t, s)
	for key, want := range map[string]int64{
		"admin@file/authentication_method": 3, "admin@file/authentication_age": 3, "admin@file/no_session": 2,
		"admin@file/invalid_token": 0, "app@file/authentication_method": 0, "app@file/no_session": 0,
	} {
		if _, ok := after[key]; !ok {
			t.Errorf("no authgear_refusals_total for %s in the metrics", key)
		}
		if got := after[key] - before[key]; got != want {
			t.Errorf("authgear_refusals_total %s went up by %d, want %d", key, got, want)
		}
	}
}

// checkRefusalBody checks a 401's body: the problem document want for a JSON
// client, else short plain text; neither shows the credential.
func checkRefusalBody(t *testing.T, step string, got reply, want *problemDoc) {
	t.Helper()
	if strings.Contains(got.body, "-session") {
		t.Errorf("%s: the refusal shows the credential: %q", step, got.body)
	}
	ct := got.header.Get("Content-Type")
	if want == nil {
		if !strings.HasPrefix(ct, "text/plain") || got.body == "" {
			t.Errorf("%s: refusal %q with Content-Type %q, want short plain text", step, got.body, ct)
		}
		return
	}
	var p problemDoc
	dec := json.NewDecoder(strings.NewReader(got.body))
	dec.DisallowUnknownFields()
	if ct != "application/problem+json" || dec.Decode(&p) != nil {
		t.Fatalf("%s: Content-Type %q, body %q; want an application/problem+json document", step, ct, got.body)
	}
	anchor, found := strings.CutPrefix(p.Type, "https://")
	if !found || !strings.HasSuffix(anchor, "#"+want.Type) {
		t.Errorf("%s: problem type %q, want an https URL ending in #%s", step, p.Type, want.Type)
	}
	p.Type = want.Type
	if p != *want {
		t.Errorf("%s: problem %+v, want %+v", step, p, *want)
	}
}

// refusalLine is one authgear_refusals_total sample.
var refusalLine = regexp.MustCompile(`(?m)^authgear_refusals_total\{middleware="([^"]+)",reason="([^"]+)"\} (\d+)$`)

// refusalCounts reads authgear_refusals_total from the "app" middleware's
// metricsPath, by "<middleware>/<reason>".
func refusalCounts(t *testing.T, s *stack.Stack) map[string]int64 {
	t.Helper()
	got := get(t, s, "/app/metrics").wantStatus(t, http.StatusOK)
	counts := map[string]int64{}
	for _, m := range refusalLine.FindAllStringSubmatch(got.body, -1) {
		v, _ := strconv.ParseInt(m[3], 10, 64) // \d+ of a counter
		counts[m[1]+"/"+m[2]] = v
	}
	return counts
}
