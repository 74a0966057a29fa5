package authgear_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	authgear "github.com/traefik-authgear/traefik-authgear"
)

// The realm of every challenge: the Authgear app's host.
const realm = `Bearer realm="` + publicHost + `"`

// What each policy reads, and the refusal each gives, as the client sees it.
func TestAccessPolicies(t *testing.T) {
	verified := func(c *authgear.Config) { c.RequireVerified = true }
	mfa := func(c *authgear.Config) { c.RequireAMR = []string{"mfa", "x_passkey"} }
	recent := func(c *authgear.Config) { c.MaxAuthAge = "5m" }
	admin := func(c *authgear.Config) {
		c.AllowedRoles = []string{"admin"}
		c.RequireAMR = []string{"mfa"}
		c.MaxAuthAge = "5m"
		c.LoginURL = "https://app.example.test/login"
	}
	html := map[string]string{"Accept": "text/html,application/xhtml+xml"}
	jsonClient := map[string]string{"Accept": "application/json"}
	stepUp := func(description string) string {
		return realm + `, error="insufficient_user_authentication", error_description="` + description + `"`
	}
	const (
		tooOld   = "Sign in again to access this resource: your sign-in is too old."
		stronger = "Sign in again with a stronger authentication method to access this resource."
	)
	tests := []struct {
		name      string
		edit      func(*authgear.Config)
		r         request
		status    int
		user      string // the backend's, for 200
		challenge string // WWW-Authenticate
		location  string // for 302
	}{
		{"no credential", verified, request{}, 401, "", realm, ""},
		{"a credential that does not resolve", verified, request{header: bearer("mallory")}, 401, "", realm + `, error="invalid_token", error_description="The credentials sent are not a valid session: sign in again."`, ""},
		{"an anonymous user with rejectAnonymousUsers", func(c *authgear.Config) { c.RequireSession = true; c.RejectAnonymousUsers = true }, request{header: bearer("anon")}, 401, "",
			stepUp("Anonymous users cannot access this resource: sign up or sign in."), ""},
		{"requireVerified refuses a user not verified", verified, request{header: bearer("alice")}, 403, "", "", ""},
		{"requireVerified admits a verified user", verified, request{header: bearer("dave")}, 200, "dave", "", ""},
		{"requireAMR refuses a password-only session", mfa, request{header: bearer("dave")}, 401, "", stepUp(stronger), ""},
		{"requireAMR refuses an empty AMR", mfa, request{header: bearer("alice")}, 401, "", stepUp(stronger), ""},
		{"requireAMR admits one of its methods", mfa, request{header: bearer("erin")}, 200, "erin", "", ""},
		{"maxAuthAge refuses a sign-in an hour ago", recent, request{header: bearer("dave")}, 401, "", stepUp(tooOld) + ", max_age=300", ""},
		{"maxAuthAge refuses a session without a sign-in time", recent, request{header: bearer("frank")}, 401, "", stepUp(tooOld) + ", max_age=300", ""},
		{"maxAuthAge admits a sign-in a minute ago", recent, request{header: bearer("erin")}, 200, "erin", "", ""},
		{"each rule implies requireSession", recent, request{}, 401, "", realm, ""},
		{"roles come first", admin, request{header: bearer("dave")}, 403, "", "", ""},
		{"a step-up navigation is redirected with prompt=login and max_age", func(c *authgear.Config) { admin(c); c.RequireAMR = nil },
			request{header: merge(bearer("alice"), html)}, 302, "", "",
			"https://app.example.test/login?redirect_uri=" + url.QueryEscape("http://api.example.test/things?id=1") + "&prompt=login&max_age=300"},
		{"an AMR step-up navigation is redirected with amr_values", func(c *authgear.Config) { admin(c); c.RequireAMR = []string{"mfa", "x_passkey"} },
			request{header: merge(bearer("alice"), html)}, 302, "", "",
			"https://app.example.test/login?redirect_uri=" + url.QueryEscape("http://api.example.test/things?id=1") + "&prompt=login&amr_values=mfa+x_passkey"},
		{"a navigation without a session is redirected without step-up parameters", admin, request{header: html}, 302, "", "",
			"https://app.example.test/login?redirect_uri=" + url.QueryEscape("http://api.example.test/things?id=1")},
		{"a 403 is never redirected", admin, request{header: merge(bearer("bob"), html)}, 403, "", "", ""},
		{"an API call gets the challenge, not the redirect", admin, request{header: merge(bearer("alice"), jsonClient)}, 401, "", stepUp(stronger), ""},
		{"a CORS preflight passes untouched", admin, request{method: "OPTIONS", header: map[string]string{"Origin": "https://app.example.test", "Access-Control-Request-Method": "POST"}}, 200, "", "", ""},
		{"the admin route admits an MFA session of the last minutes", admin, request{header: bearer("erin")}, 200, "erin", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, h, rec := newHandler(t, tt.edit)
			w, s := do(h, rec, tt.r)
			if w.Code != tt.status {
				t.Fatalf("status %d %q, want %d", w.Code, w.Body.String(), tt.status)
			}
			if got := w.Header().Get("WWW-Authenticate"); got != tt.challenge {
				t.Fatalf("WWW-Authenticate\n%q\nwant\n%q", got, tt.challenge)
			}
			if got := w.Header().Get("Location"); got != tt.location {
				t.Fatalf("Location %q, want %q", got, tt.location)
			}
			if tt.status == 200 {
				assertUser(t, s, tt.user)
				return
			}
			if s.called {
				t.Fatalf("the backend was reached on a %d", w.Code)
			}
			checkRefusalBody(t, w.Header(), w.Body.String(), tt.status, strings.Contains(tt.r.header["Accept"], "json"))
		})
	}
}

// checkRefusalBody fails unless a refusal is a short text, or for a JSON
// client an RFC 9457 problem document, that gives nothing of the identity
// or the credentials away.
func checkRefusalBody(t *testing.T, h http.Header, body string, status int, wantJSON bool) {
	t.Helper()
	for _, secret := range []string{"user:", "id-", "editor", "pwd", "x_primary"} {
		if strings.Contains(body, secret) {
			t.Fatalf("the refusal %q tells %q", body, secret)
		}
	}
	if h.Get("Cache-Control") != "no-store" || h.Get("X-Content-Type-Options") != "nosniff" {
		t.Fatalf("Cache-Control %q, X-Content-Type-Options %q", h.Get("Cache-Control"), h.Get("X-Content-Type-Options"))
	}
	if status == http.StatusFound {
		return
	}
	if !wantJSON {
		if !strings.HasPrefix(h.Get("Content-Type"), "text/plain") || body == "" || len(body) > 200 {
			t.Fatalf("%s %q: want a short plain text", h.Get("Content-Type"), body)
		}
		return
	}
	var p map[string]interface{}
	if h.Get("Content-Type") != "application/problem+json" || json.Unmarshal([]byte(body), &p) != nil {
		t.Fatalf("%s %q: want an application/problem+json document", h.Get("Content-Type"), body)
	}
	typ, _ := p["type"].(string)
	title, _ := p["title"].(string)
	detail, _ := p["detail"].(string)
	number, _ := p["status"].(float64)
	if !strings.HasPrefix(typ, "https://") || title == "" || detail == "" || int(number) != status || len(p) != 4 {
		t.Fatalf("problem document %v: want type, title, status %d (a number) and detail", p, status)
	}
}

// Every refusal comes as an RFC 9457 problem document to a client that
// accepts JSON, with the reason in its type, counted per reason.
func TestProblemDocumentsAndRefusalMetrics(t *testing.T) {
	_, h, rec := newHandler(t, func(c *authgear.Config) {
		withMetrics(c)
		c.AllowedRoles = []string{"admin"}
		c.RequireVerified = true
		c.MaxAuthAge = "5m"
	})
	for _, tt := range []struct {
		who, accept, reason string
		status              int
	}{
		{"", "application/json", "no_session", 401},
		{"mallory", "application/problem+json", "invalid_token", 401},
		{"alice", "application/json, text/plain;q=0.5", "not_verified", 403},
		{"dave", "application/json", "missing_role", 403},
		{"frank", "application/vnd.api+json", "missing_role", 403},
	} {
		r := request{header: map[string]string{"Accept": tt.accept}}
		if tt.who != "" {
			r.header = merge(r.header, bearer(tt.who))
		}
		w, s := do(h, rec, r)
		if w.Code != tt.status || s.called {
			t.Fatalf("%s: status %d, backend reached %v; want %d", tt.who, w.Code, s.called, tt.status)
		}
		checkRefusalBody(t, w.Header(), w.Body.String(), tt.status, true)
		if !strings.Contains(w.Body.String(), `"type":"https://github.com/traefik-authgear/traefik-authgear/blob/main/docs/policies.md#`+tt.reason+`"`) {
			t.Fatalf("%s: problem %s, want the type of %s", tt.who, w.Body.String(), tt.reason)
		}
	}
	awaitMetric(t, h, "authgear_refusals_total", `,reason="no_session"`, 1)
	awaitMetric(t, h, "authgear_refusals_total", `,reason="invalid_token"`, 1)
	awaitMetric(t, h, "authgear_refusals_total", `,reason="not_verified"`, 1)
	awaitMetric(t, h, "authgear_refusals_total", `,reason="missing_role"`, 2)
	awaitMetric(t, h, "authgear_refusals_total", `,reason="authentication_age"`, 0)
}

// maxAuthAge is judged at the time of each request, on the cached answer:
// a sign-in that was recent enough when the answer was cached is refused
// once it is too old, without a resolver call.
func TestMaxAuthAgeIsCheckedOnEveryHit(t *testing.T) {
	f, h, rec := newHandler(t, func(c *authgear.Config) { c.MaxAuthAge = "2"; c.CacheTTL = "1h" })
	// A sign-in 1 s ago (in whole seconds: 1 to 2 s) is within 2 s.
	users["grace"] = user{id: "id-grace", verified: true, signedIn: time.Second}
	t.Cleanup(func() { delete(users, "grace") })
	if w, s := do(h, rec, request{header: bearer("grace")}); w.Code != 200 || !s.called {
		t.Fatalf("a sign-in within maxAuthAge: status %d", w.Code)
	}
	time.Sleep(2 * time.Second)
	w, s := do(h, rec, request{header: bearer("grace")})
	if w.Code != http.StatusUnauthorized || s.called || !strings.HasSuffix(w.Header().Get("WWW-Authenticate"), "max_age=2") {
		t.Fatalf("the same cached answer 2 s later: status %d, challenge %q; want 401 with max_age=2", w.Code, w.Header().Get("WWW-Authenticate"))
	}
	if got := f.calls.Load(); got != 1 {
		t.Fatalf("resolver calls = %d, want 1: the cached answer is judged again", got)
	}
}

// Middlewares with different policies over one Authgear app share one cache:
// one resolver call per credential, whichever routes the user visits, each
// route applying its own policy; the hits are counted per middleware. Other
// resolver-side settings make another cache.
func TestMiddlewaresOfOneAppShareTheCache(t *testing.T) {
	f := newFakeResolver(t)
	api, apiRec := newNamed(t, f, t.Name()+"/api", withMetrics)
	admins, adminsRec := newNamed(t, f, t.Name()+"/admin", func(c *authgear.Config) { withMetrics(c); c.AllowedRoles = []string{"admin"} })
	mfa, mfaRec := newNamed(t, f, t.Name()+"/mfa", func(c *authgear.Config) { withMetrics(c); c.RequireAMR = []string{"mfa"} })
	longer, longerRec := newNamed(t, f, t.Name()+"/longer", func(c *authgear.Config) { c.CacheTTL = "1m" })
	for i, step := range []struct {
		h      http.Handler
		rec    *recorder
		who    string
		status int
		calls  int64
	}{
		{api, apiRec, "alice", 200, 1},
		{admins, adminsRec, "alice", 200, 1},
		{mfa, mfaRec, "alice", 401, 1},
		{admins, adminsRec, "bob", 403, 2},
		{api, apiRec, "bob", 200, 2},
		{mfa, mfaRec, "erin", 200, 3},
		{admins, adminsRec, "erin", 200, 3},
		{longer, longerRec, "alice", 200, 4}, // another cacheTTL: another cache
	} {
		w, _ := do(step.h, step.rec, request{header: bearer(step.who)})
		if w.Code != step.status || f.calls.Load() != step.calls {
			t.Fatalf("step %d (%s): status %d after %d resolver calls, want %d after %d", i, step.who, w.Code, f.calls.Load(), step.status, step.calls)
		}
	}
	check := func(h http.Handler, name, labels string, want int) {
		t.Helper()
		sample := name + `{middleware="` + t.Name() + labels + `} `
		_, body := scrape(h, "127.0.0.1:1")
		if !strings.Contains(body, sample+strconv.Itoa(want)+"\n") {
			t.Fatalf("want %s%d in\n%s", sample, want, body)
		}
	}
	check(api, "authgear_requests_total", `/api",outcome="cache_hit"`, 1)
	check(api, "authgear_requests_total", `/admin",outcome="cache_hit"`, 2)
	check(api, "authgear_requests_total", `/mfa",outcome="cache_hit"`, 1)
	check(api, "authgear_refusals_total", `/mfa",reason="authentication_method"`, 1)
	check(api, "authgear_refusals_total", `/admin",reason="missing_role"`, 1)
}
