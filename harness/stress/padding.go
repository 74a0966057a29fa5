package main

import (
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/traefik-authgear/traefik-authgear/harness/internal/stack"
	"github.com/traefik-authgear/traefik-authgear/harness/internal/standin"
)

// The plugin's bounds on what it sends the resolver.
const (
	maxCredentialBytes = 8 << 10 // Cookie (Authgear's cookies) plus every Authorization value
	maxForwardedBytes  = 512     // User-Agent, and the client's part of X-Forwarded-For
)

// paddedResolverHeaderBytes is the TLS stand-in's MaxHeaderBytes: small
// enough that credentials under maxCredentialBytes plus a User-Agent of
// maxForwardedBytes go past the header list size it advertises, and so the
// attack still works against a plugin that bounds both.
const paddedResolverHeaderBytes = 8 << 10

// paddedAdvertisedLimit is the SETTINGS_MAX_HEADER_LIST_SIZE Go's HTTP/2
// server advertises for paddedResolverHeaderBytes (ten fields' overhead more).
const paddedAdvertisedLimit = paddedResolverHeaderBytes + 10*32

// paddingMargin is how far under paddedAdvertisedLimit the attacker's
// request to the resolver is without a User-Agent; a User-Agent of
// maxForwardedBytes adds maxForwardedBytes+42 bytes (value, name, 32 of
// overhead), and so takes it as far over.
const paddingMargin = (maxForwardedBytes + len("user-agent") + 32) / 2

// paddedTTL is the padded middleware's cacheTTL: the revoked identity must be
// gone from the backend one refresh after it.
const paddedTTL = time.Second

// paddedMiddleware asks a stand-in over TLS and HTTP/2 with a small header
// limit, with a short cacheTTL and an hour of staleWhileRevalidate and
// staleIfError: the set-up in which a client that makes its own resolver
// calls fail "as an outage" kept a revoked session alive for the hour.
var paddedMiddleware = stack.Middleware{Name: "padded",
	TLSResolver: &stack.TLSResolver{MaxHeaderBytes: paddedResolverHeaderBytes},
	Options: map[string]any{"cacheTTL": paddedTTL.String(), "staleWhileRevalidate": "1h", "staleIfError": "1h",
		"requireSession": true}}

// boundedMetricsPath is where the bounded middleware serves the plugin's metrics.
const boundedMetricsPath = "/bounded/metrics"

// boundedMiddleware asks the shared plain-HTTP stand-in, which accepts 1 MiB
// of headers: oversized credentials would reach it unless the plugin
// refuses them itself.
var boundedMiddleware = stack.Middleware{Name: "bounded",
	Options: map[string]any{"requireSession": true, "metricsPath": boundedMetricsPath}}

// runPadding covers a client that pads its own requests (junk bearer
// tokens beside a valid session cookie, a huge User-Agent and
// X-Forwarded-For) so that the resolver refuses the plugin's calls for
// them: a revoked session must not live on as a stale answer, oversized
// credentials get 431 without a resolver call, and the unkeyed headers
// reach the resolver bounded.
func runPadding(_ *options, e *env, rep *report) error {
	if err := runStaleAttack(e, rep); err != nil {
		return err
	}
	runOversizedCredentials(e, rep)
	runForwardedBounds(e, rep)
	return nil
}

// runStaleAttack: the attacker's padded credentials are cached, the user
// is revoked at the resolver (no webhook), and after cacheTTL the attacker
// sends them with a huge User-Agent so that every refresh fails; the
// backend must stop seeing the identity one refresh later, while another
// user keeps resolving.
func runStaleAttack(e *env, rep *report) error {
	const part = "padding"
	resolver, target, client := e.Resolvers[paddedMiddleware.Name], e.URL("/padded/x?small=1"), h1Client(2)
	padding, err := calibratePadding(client, resolver, target)
	if err != nil {
		return err
	}
	attack := paddedCredentials("alice-session", padding)
	want, aliceID := e.identity(attack), userWithSession(resolver, "alice-session").ID
	carries := func(a answer) bool {
		return a.backend && strings.Contains(a.identity, "x-authgear-user-id="+url.QueryEscape(aliceID))
	}

	c0 := resolver.Calls()
	first, again := answerOf(client.Do(get(target, attack))), answerOf(client.Do(get(target, attack)))
	calls := resolver.Calls() - c0
	rep.check(part, fmt.Sprintf("attacker's padded credentials (%s bytes), no User-Agent: answers / resolver calls", count(int64(credentialSize(attack)))),
		fmt.Sprintf("%d, %d / %d", first.status, again.status, calls), "200, 200 with the user's identity / 1 (cached)",
		first.identity == want && again.identity == want && first.status == http.StatusOK && again.status == http.StatusOK && calls == 1)

	// Control: the same padding with a full User-Agent, on credentials
	// not cached yet, does not reach the resolver at all (the set-up holds).
	huge := hugeClientHeaders()
	c0 = resolver.Calls()
	ctl := answerOf(client.Do(get(target, with(paddedCredentials("carol-session", padding), huge))))
	calls = resolver.Calls() - c0
	rep.check(part, "control: same padding + huge User-Agent, new credentials: answer / resolver calls",
		fmt.Sprintf("%s / %d", statusCounts(map[int]int64{ctl.status: 1}), calls), "not 200 / 0 (over the resolver's header limit)",
		ctl.status != http.StatusOK && calls == 0)

	// The user is revoked; another user keeps using the site meanwhile.
	bob := credential{name: "bob", header: http.Header{"Cookie": {"session=bob-session"}}}
	bob.want = e.identity(bob.header)
	legit := background(loadSpec{client: h1Client(1), workers: 1, rate: 20, duration: time.Minute, next: func(int64) job { return bob.job(target) }})
	resolver.SetUsers(slices.DeleteFunc(resolver.Users(), func(u standin.User) bool { return u.ID == aliceID }))
	time.Sleep(paddedTTL + 100*time.Millisecond) // the cached answer is past cacheTTL
	c0 = resolver.Calls()

	w := watchRevocation(func() answer { return answerOf(client.Do(get(target, with(attack, huge)))) }, carries)
	lu := legit()
	goneText := "never (5 s)"
	if w.gone >= 0 {
		goneText = w.gone.Round(time.Millisecond).String()
	}
	rep.check(part, "revoked user, padded credentials + huge User-Agent after cacheTTL: identity gone from the backend after",
		fmt.Sprintf("%s (%d requests still carried it)", goneText, w.leaked), "< 5 s (one refresh), not the staleIfError hour", w.gone >= 0)
	rep.check(part, "... then requests that carried it again / answers",
		fmt.Sprintf("%d of %d / %s", w.back, w.after, statusCounts(w.statuses)), "0", w.gone >= 0 && w.back == 0)
	rep.check(part, "another user meanwhile: requests / failures / resolver calls",
		fmt.Sprintf("%s / %s / %s", count(lu.requests), count(lu.failures()), count(resolver.Calls()-c0)), "0 failures, ≥ 1 call (the resolver is up)",
		lu.requests > 0 && lu.failures() == 0 && resolver.Calls() > c0)
	return nil
}

// revocationWatch is what the attacker's requests showed after the revocation.
type revocationWatch struct {
	leaked      int           // answers that carried the identity before the first that did not
	gone        time.Duration // when that first answer came; -1: not within 5 s
	back, after int           // answers after it that carried the identity again, of after
	statuses    map[int]int64
}

// watchRevocation sends requests until an answer (an HTTP one) does not
// carry the identity, for at most 5 s, then at least 20 more over at least
// two cacheTTLs, and counts those that carry it again.
func watchRevocation(send func() answer, carries func(answer) bool) revocationWatch {
	w := revocationWatch{gone: -1, statuses: map[int]int64{}}
	for start := time.Now(); time.Since(start) < 5*time.Second; {
		a := send()
		w.statuses[a.status]++
		if a.status != statusTransportError && !carries(a) {
			w.gone = time.Since(start)
			break
		}
		w.leaked++
	}
	for t1 := time.Now(); w.after < 20 || time.Since(t1) < 2*paddedTTL; w.after++ {
		a := send()
		w.statuses[a.status]++
		if carries(a) {
			w.back++
		}
	}
	return w
}

// calibratePadding returns an Authorization value that puts the plugin's
// call for a session cookie like alice's with no User-Agent paddingMargin
// bytes under the padded stand-in's advertised limit. It measures the rest of
// that call on one with a short token, so it holds whatever else the plugin
// sends.
func calibratePadding(client *http.Client, resolver *stack.Resolver, target string) (string, error) {
	const probe = "Bearer calibrate"
	a := answerOf(client.Do(get(target, paddedCredentials("alice-session", probe))))
	last := resolver.LastRequest()
	if a.status != http.StatusOK || last == nil || last.Header.Get("Authorization") != probe {
		return "", fmt.Errorf("padding: the calibration request did not resolve at the TLS stand-in (status %d %s)", a.status, a.err)
	}
	n := len(probe) + paddedAdvertisedLimit - paddingMargin - h2HeaderListSize(last)
	return "Bearer " + strings.Repeat("j", n-len("Bearer ")), nil
}

// h2HeaderListSize is the header list size (RFC 9113 6.5.2: each field's
// name and value lengths plus 32) of req as Go's HTTP/2 client counts it
// before sending: the pseudo-header fields, then every header in lower
// case, the Cookie header split into one field per cookie.
func h2HeaderListSize(req *http.Request) int {
	n := 0
	field := func(name, value string) { n += len(name) + len(value) + 32 }
	field(":authority", req.Host)
	field(":method", req.Method)
	field(":path", req.URL.RequestURI())
	field(":scheme", "https")
	for k, vs := range req.Header {
		for _, v := range vs {
			if k != "Cookie" {
				field(strings.ToLower(k), v)
				continue
			}
			for _, c := range strings.Split(v, "; ") {
				field("cookie", c)
			}
		}
	}
	return n
}

// paddedCredentials is a session cookie beside a junk bearer token, which
// Authgear ignores (it resolves the cookie), and no User-Agent.
func paddedCredentials(session, authorization string) http.Header {
	return http.Header{"Cookie": {"session=" + session}, "Authorization": {authorization}, "User-Agent": {""}}
}

// hugeClientHeaders are a 64 KiB User-Agent and X-Forwarded-For (Traefik
// accepts 1 MiB of headers).
func hugeClientHeaders() http.Header {
	return http.Header{"User-Agent": {strings.Repeat("u", 64<<10)},
		"X-Forwarded-For": {strings.Repeat("10.0.0.1, ", 64<<10/10) + "10.0.0.2"}}
}

// with returns h with the headers of more set over it.
func with(h, more http.Header) http.Header {
	out := h.Clone()
	maps.Copy(out, more)
	return out
}

// credentialSize is the size of h's credentials as the plugin bounds them:
// the Cookie header (only Authgear's cookies here) and every Authorization value.
func credentialSize(h http.Header) int {
	n := len(strings.Join(h["Cookie"], "; "))
	for _, v := range h["Authorization"] {
		n += len(v)
	}
	return n
}

// bearerOfSize returns an Authorization value of n bytes.
func bearerOfSize(n int) string { return "Bearer " + strings.Repeat("j", n-len("Bearer ")) }

// oversized are credentials past maxCredentialBytes, and one exactly at it.
var oversized = []struct {
	name   string
	header http.Header
	status int // 200: with the user's identity
}{
	{"session cookie + junk bearer token, 8 KiB + 1 together",
		http.Header{"Cookie": {"session=carol-session"}, "Authorization": {bearerOfSize(maxCredentialBytes + 1 - len("session=carol-session"))}},
		http.StatusRequestHeaderFieldsTooLarge},
	{"one session cookie of 8 KiB + 1",
		http.Header{"Cookie": {"session=" + strings.Repeat("s", maxCredentialBytes+1-len("session="))}}, http.StatusRequestHeaderFieldsTooLarge},
	{"two Authorization headers, 8 KiB + 2 together",
		http.Header{"Authorization": {bearerOfSize(maxCredentialBytes/2 + 1), bearerOfSize(maxCredentialBytes/2 + 1)}},
		http.StatusRequestHeaderFieldsTooLarge},
	{"session cookie + junk bearer token, exactly 8 KiB",
		http.Header{"Cookie": {"session=carol-session"}, "Authorization": {bearerOfSize(maxCredentialBytes - len("session=carol-session"))}},
		http.StatusOK},
}

// runOversizedCredentials: credentials past maxCredentialBytes get 431
// without a resolver call (the bounded middleware's resolver would have
// accepted them), counted in the plugin's metrics.
func runOversizedCredentials(e *env, rep *report) {
	const part = "padding"
	target, client, refused := e.URL("/bounded/x?small=1"), h1Client(1), 0
	for _, c := range oversized {
		if credentialSize(c.header) > maxCredentialBytes {
			refused++
		}
		want, status := e.identity(c.header), c.status
		c0 := e.Resolver.Calls()
		a := answerOf(client.Do(get(target, c.header)))
		calls := e.Resolver.Calls() - c0
		ok := a.status == status && a.backend == (status == http.StatusOK) && (!a.backend || a.identity == want)
		wantCalls, limit := int64(0), fmt.Sprintf("%d / 0", status)
		if status == http.StatusOK {
			wantCalls, limit = 1, "200 with the user's identity / 1"
		}
		rep.check(part, c.name+": answer / resolver calls", fmt.Sprintf("%d / %d", a.status, calls), limit, ok && calls == wantCalls)
	}
	n, err := credentialsTooLarge(client, e.URL(boundedMetricsPath))
	value := strconv.FormatInt(n, 10)
	if err != nil {
		value = "error: " + err.Error()
	}
	rep.check(part, `metric authgear_requests_total{outcome="credentials_too_large"}`, value, strconv.Itoa(refused), err == nil && n == int64(refused))
}

// credentialsTooLargeLine matches the bounded middleware's sample of the metric.
var credentialsTooLargeLine = regexp.MustCompile(`(?m)^authgear_requests_total\{middleware="bounded@[^"]*",outcome="credentials_too_large"\} (\d+)$`)

// credentialsTooLarge reads the bounded middleware's count of requests
// refused for oversized credentials from the plugin's metrics.
func credentialsTooLarge(client *http.Client, metricsURL string) (int64, error) {
	resp, err := client.Get(metricsURL)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return 0, err
	}
	m := credentialsTooLargeLine.FindSubmatch(body)
	if resp.StatusCode != http.StatusOK || m == nil {
		return 0, fmt.Errorf("%s: status %d, no credentials_too_large sample for bounded", metricsURL, resp.StatusCode)
	}
	return strconv.ParseInt(string(m[1]), 10, 64)
}

// runForwardedBounds: a huge User-Agent and X-Forwarded-For reach the
// resolver cut to maxForwardedBytes (X-Forwarded-For: plus the peer's address).
func runForwardedBounds(e *env, rep *report) {
	const part = "padding"
	h := with(http.Header{"Cookie": {"session=bob-session"}}, hugeClientHeaders())
	a := answerOf(h1Client(1).Do(get(e.URL("/bounded/x?small=1"), h)))
	last := e.Resolver.LastRequest()
	if last == nil {
		rep.check(part, "User-Agent / X-Forwarded-For the resolver got, from 64 KiB each", "no resolver call", "≤ 512 / ≤ 512 + the peer", false)
		return
	}
	ua, xff := last.Header.Get("User-Agent"), last.Header.Get("X-Forwarded-For")
	rep.check(part, "User-Agent / X-Forwarded-For the resolver got, from 64 KiB each",
		fmt.Sprintf("%d / %d bytes (answer %d)", len(ua), len(xff), a.status), "≤ 512 / ≤ 512 + \", 127.0.0.1\"",
		a.status == http.StatusOK && len(ua) <= maxForwardedBytes && len(xff) <= maxForwardedBytes+len(", 127.0.0.1"))
}

// userWithSession returns the stand-in's user with that session cookie.
func userWithSession(r *stack.Resolver, session string) standin.User {
	for _, u := range r.Users() {
		if slices.Contains(u.Sessions, session) {
			return u
		}
	}
	return standin.User{}
}
