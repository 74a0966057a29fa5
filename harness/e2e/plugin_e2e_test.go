//go:build e2e

package e2e

import (
	"bufio"
	"cmp"
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/traefik-authgear/traefik-authgear/harness/internal/echo"
	"github.com/traefik-authgear/traefik-authgear/harness/internal/stack"
	"github.com/traefik-authgear/traefik-authgear/harness/internal/standin"
)

// clearSession is the Set-Cookie with which Authgear clears a stale session
// cookie named name.
func clearSession(name string) string {
	return name + "=; Path=/; Expires=Thu, 01 Jan 1970 00:00:00 GMT; HttpOnly; SameSite=Lax"
}

// TestPluginInTraefik: one request per row through the shared stack, a smoke
// of each area with options decoded by Traefik, and the cases the unit
// tables lack. Every answer is quick; a refusal does not reach the backend
// and is short plain text without the credential; a 200 carries exactly
// user's identity; the client gets exactly the Set-Cookie cookie.
func TestPluginInTraefik(t *testing.T) {
	s := mainStack(t)
	const html = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
	page := "/login/page?a=1&b=x+y"
	entry := "http://" + s.Traefik.EntryAddr + page
	alice := append(cookie("alice"), "X-Authgear-User-Id", "forged")
	preflight := []string{"Origin", "https://app.example.test", "Access-Control-Request-Method", "POST", "Access-Control-Request-Headers", "authorization, content-type"}
	const apiHost = "api.example.test"
	apiBearer := []string{"Host", apiHost, "Authorization", "Bearer alice-token"}
	upload := strings.Repeat("The quick brown fox jumps over the lazy dog.\n", 6000) // ~270 KB
	type check func(t *testing.T, got reply, r *stack.Resolver, calls int64)
	var noCall check = func(t *testing.T, _ reply, _ *stack.Resolver, calls int64) {
		if calls != 0 {
			t.Errorf("%d resolver calls, want 0", calls)
		}
	}
	// intact: the backend got it all; the resolver one GET without a body.
	intact := func(method string) check {
		return func(t *testing.T, got reply, r *stack.Resolver, calls int64) {
			if e := got.echo; e.Method != method || e.Body != upload || e.Query != "x=1" {
				t.Errorf("backend got %s ?%s with %d body bytes, want %s ?x=1 with %d", e.Method, e.Query, len(e.Body), method, len(upload))
			}
			last := r.LastRequest()
			if calls != 1 || last.Method != http.MethodGet {
				t.Errorf("%d resolver calls, the last a %s; want one GET", calls, last.Method)
			}
			for _, h := range []string{"Content-Length", "Content-Type", "Transfer-Encoding"} {
				if v := last.Header.Values(h); len(v) > 0 {
					t.Errorf("resolver got %s: %v, want none (no body)", h, v)
				}
			}
		}
	}
	// resolverHost: the resolver got the public host, not the API's.
	var resolverHost check = func(t *testing.T, got reply, r *stack.Resolver, _ int64) {
		if xfh := got.echo.Headers["X-Forwarded-Host"]; len(xfh) != 1 || xfh[0] != apiHost {
			t.Errorf("backend X-Forwarded-Host = %v, want [%s] (set by Traefik)", xfh, apiHost)
		}
		last := r.LastRequest()
		if last.Host != stack.PublicHost || last.Header.Get("X-Forwarded-Host") != stack.PublicHost {
			t.Errorf("resolver got Host %q, X-Forwarded-Host %q; want %s for both", last.Host, last.Header.Get("X-Forwarded-Host"), stack.PublicHost)
		}
		if xff := last.Header.Get("X-Forwarded-For"); !strings.Contains(xff, "127.0.0.1") {
			t.Errorf("resolver got X-Forwarded-For %q, want the client's address", xff)
		}
	}
	var ownHost check = func(t *testing.T, _ reply, r *stack.Resolver, _ int64) {
		if own, last := strings.Split(r.URL, "/")[2], r.LastRequest(); last.Host != own {
			t.Errorf("without resolverHost the resolver got Host %q, want its own address %s", last.Host, own)
		}
	}
	type row struct {
		name     string
		mw       string // the request goes to /<mw>/x, or to path
		path     string
		method   string
		headers  []string
		body     string
		fault    standin.Fault // the middleware's stand-in has it for the row
		status   int
		user     string // with 200: whose identity the backend gets ("" none, "invalid")
		cookie   string // the Set-Cookie the client gets
		redirect string // with 302: the redirect_uri
		check    check  // more checks, with the resolver calls the row made
	}
	rows := []row{
		{name: "bearer", mw: "basic", headers: []string{"Authorization", "Bearer alice-token"}, status: 200, user: "alice"},
		{name: "session cookie", mw: "basic", headers: cookie("bob"), status: 200, user: "bob"},
		{name: "prefixed session cookie", mw: "prefixed", headers: []string{"Cookie", "myapp_session=alice-session"}, status: 200, user: "alice"},
		{name: "prefixed app_access_token cookie", mw: "prefixed", headers: []string{"Cookie", "myapp_app_access_token=bob-app-token"}, status: 200, user: "bob"},
		{name: "bearer wins over session", mw: "nocache", headers: []string{"Authorization", "Bearer bob-token", "Cookie", "session=alice-session"}, status: 200, user: "bob"},
		{name: "anonymous user", mw: "nocache", headers: cookie("anon"), status: 200, user: "anon"},

		{name: "stale session cleared", mw: "basic", headers: []string{"Cookie", "session=stale-1"}, status: 200, user: "invalid", cookie: clearSession("session")},
		{name: "stale prefixed session cleared", mw: "prefixed", headers: []string{"Cookie", "myapp_session=stale-2"}, status: 200, user: "invalid", cookie: clearSession("myapp_session")},
		{name: "forwardResolverCookies false", mw: "nocookies", headers: []string{"Cookie", "session=stale-4"}, status: 200, user: "invalid"},

		{name: "requireSession: alice", mw: "require", headers: cookie("alice"), status: 200, user: "alice"},
		{name: "requireSession: stale session", mw: "require", headers: []string{"Cookie", "session=stale-3"}, status: 401, cookie: clearSession("session")},
		{name: "rejectAnonymousUsers: bob", mw: "noanon", headers: []string{"Authorization", "Bearer bob-token"}, status: 200, user: "bob"},
		{name: "rejectAnonymousUsers: anonymous user", mw: "noanon", headers: cookie("anon"), status: 401},
		{name: "allowedRoles: no credential", mw: "roles", status: 401},
		{name: "allowedRoles: bob, editor only", mw: "roles", headers: cookie("bob"), status: 403},
		{name: "allowedRoles: anonymous user", mw: "roles", headers: cookie("anon"), status: 403},
		{name: "allowedRoles: alice by app_access_token", mw: "roles", headers: []string{"Cookie", "app_access_token=alice-app-token"}, status: 200, user: "alice"},

		{name: "login: navigation", path: page, headers: []string{"Accept", html}, status: 302, redirect: entry},
		{name: "login: navigation to another host", path: page, headers: []string{"Accept", html, "Host", "app.example.test"}, status: 302, redirect: "http://app.example.test" + page},
		{name: "login: HEAD navigation", path: page, method: http.MethodHead, headers: []string{"Accept", html}, status: 302, redirect: entry},
		{name: "login: navigation with a stale session", path: page, headers: []string{"Accept", html, "Cookie", "session=stale-5"}, status: 302, redirect: entry, cookie: clearSession("session")},
		{name: "login: no Accept", path: page, status: 401},
		{name: "login: signed in", path: page, headers: append(cookie("bob"), "Accept", html), status: 200, user: "bob"},

		{name: "CORS preflight: requireSession", mw: "require", method: http.MethodOptions, headers: preflight, status: 200, check: noCall},
		{name: "CORS preflight: allowedRoles", mw: "roles", method: http.MethodOptions, headers: preflight, status: 200, check: noCall},
		{name: "CORS preflight: loginURL", mw: "login", method: http.MethodOptions, headers: preflight, status: 200, check: noCall},

		{name: "resolver down", mw: "down", headers: alice, status: 502},
		{name: "resolver down, anonymous", mw: "downanon", headers: alice, status: 200},
		{name: "resolver down, no credential", mw: "down", status: 200},
		{name: "resolver slower than timeout", mw: "slow", headers: alice, fault: standin.Fault{Latency: 3 * time.Second}, status: 504},
		{name: "resolver closes the connection", mw: "failing", headers: alice, fault: standin.Fault{Mode: standin.ModeClose}, status: 502},
		{name: "resolver resets the connection mid-answer", mw: "failing", headers: alice, fault: standin.Fault{Mode: standin.ModeReset}, status: 502},
		{name: "resolver answers a huge header", mw: "failing", headers: alice, fault: standin.Fault{Mode: standin.ModeHugeHeader}, status: 502},

		{name: "resolverHost: the public host", mw: "nocache", headers: apiBearer, status: 200, user: "alice", check: resolverHost},
		{name: "no resolverHost: the resolver's own address", mw: "nohost", headers: apiBearer, status: 200, check: ownHost},
	}
	for _, method := range []string{http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete} {
		rows = append(rows, row{name: method + " body intact", path: "/nocache/upload?x=1", method: method, body: upload,
			headers: append(cookie("alice"), "Content-Type", "text/plain"), status: 200, user: "alice", check: intact(method)})
	}
	for _, tc := range rows {
		t.Run(tc.name, func(t *testing.T) {
			path := cmp.Or(tc.path, "/"+tc.mw+"/x")
			r := s.Resolvers[strings.Split(path, "/")[1]]
			if r != nil {
				r.SetFault(tc.fault)
				defer r.SetFault(standin.Fault{})
			}
			hits, start, n := s.Backend.Hits.Load(), time.Now(), calls(r)
			got := request(t, s, cmp.Or(tc.method, http.MethodGet), path, tc.body, tc.headers...).wantStatus(t, tc.status)
			if d := time.Since(start); d > 2*time.Second {
				t.Errorf("answered after %s: the plugin's timeout is not enforced", d)
			}
			if c := strings.Join(got.header.Values("Set-Cookie"), " | "); c != tc.cookie {
				t.Errorf("client got Set-Cookie %q, want %q", c, tc.cookie)
			}
			switch {
			case tc.status == http.StatusOK:
				got.wantIdentity(t, identityOf(t, tc.user))
				if tc.check != nil {
					tc.check(t, got, r, n())
				}
			case s.Backend.Hits.Load() != hits || got.echo != nil:
				t.Error("a refused request reached the backend")
			case tc.status == http.StatusFound:
				loc, err := url.Parse(got.header.Get("Location"))
				if err != nil || loc.Scheme+"://"+loc.Host+loc.Path != loginURL || loc.Query().Get("redirect_uri") != tc.redirect {
					t.Errorf("redirected to %s (%v), want %s with redirect_uri %s", got.header.Get("Location"), err, loginURL, tc.redirect)
				}
			case !strings.HasPrefix(got.header.Get("Content-Type"), "text/plain") || got.body == "" || strings.Contains(got.body, "alice-session"):
				t.Errorf("refusal %q with Content-Type %q, want a short plain-text body without the credential", got.body, got.header.Get("Content-Type"))
			}
		})
	}
	if logs := s.Traefik.Logs(); strings.Contains(logs, "alice-session") || strings.Contains(logs, "bob-session") {
		t.Errorf("Traefik's log shows a credential:\n%s", logs)
	}
}

// TestWebSocket: an upgrade passes with the user's identity and messages flow
// both ways; under requireSession, without a session it is refused (401).
func TestWebSocket(t *testing.T) {
	s := mainStack(t)
	for _, tc := range []struct {
		name, path string
		header     http.Header
		userID     string // the X-Authgear-User-Id the backend saw; "refused": 401
	}{
		{"cookie", "", http.Header{"Cookie": {"session=alice-session"}}, users["alice"].ID},
		{"bearer", "", http.Header{"Authorization": {"Bearer alice-token"}}, users["alice"].ID},
		{"anonymous, forged id", "", http.Header{"X-Authgear-User-Id": {"forged"}}, ""},
		{"refused without session", "/require", nil, "refused"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			ws, resp, err := websocket.Dial(ctx, "ws://"+s.Traefik.EntryAddr+tc.path+echo.PathWebSocket, &websocket.DialOptions{HTTPHeader: tc.header})
			if tc.userID == "refused" {
				if err == nil || resp == nil || resp.StatusCode != http.StatusUnauthorized {
					t.Errorf("upgrade without session: %v, want a 401 refusal", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer ws.CloseNow()
			if got := resp.Header.Get("X-Echo-User-Id"); got != tc.userID {
				t.Errorf("backend saw X-Authgear-User-Id %q, want %q", got, tc.userID)
			}
			for i := 0; i < 3; i++ {
				msg := fmt.Sprintf("hello %d", i)
				if err := ws.Write(ctx, websocket.MessageText, []byte(msg)); err != nil {
					t.Fatal(err)
				}
				if _, got, err := ws.Read(ctx); err != nil || string(got) != msg {
					t.Fatalf("echo of %q: %q, %v", msg, got, err)
				}
			}
		})
	}
}

// TestServerSentEvents: a stream passes event by event, not buffered.
func TestServerSentEvents(t *testing.T) {
	s := mainStack(t)
	req, _ := http.NewRequest(http.MethodGet, s.URL("/sse?count=5&interval=100ms"), nil)
	req.Header.Set("Authorization", "Bearer bob-token")
	req.Header.Set("Accept", "text/event-stream")
	start := time.Now()
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
		t.Fatalf("status %d, Content-Type %q", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	var events []string
	var times []time.Duration
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		if data, ok := strings.CutPrefix(sc.Text(), "data: "); ok {
			events = append(events, data)
			times = append(times, time.Since(start))
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	want := []string{"user=" + users["bob"].ID, "1", "2", "3", "4", "5"}
	if strings.Join(events, "|") != strings.Join(want, "|") {
		t.Fatalf("events %q, want %q", events, want)
	}
	if spread := times[len(times)-1] - times[0]; spread < 300*time.Millisecond {
		t.Errorf("events arrived within %s of each other (%v): the stream was buffered", spread, times)
	}
}
