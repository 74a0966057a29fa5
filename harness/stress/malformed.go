package main

import (
	"bufio"
	"bytes"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/traefik-authgear/traefik-authgear/harness/internal/stack"
)

// malformedCase is one hostile request: header lines written byte for byte.
type malformedCase struct {
	name  string
	lines []string
}

// forgedLine rides along in every case: it must never reach the backend.
const forgedLine = "X-Authgear-User-Id: forged-by-client"

// cookies returns n cookies "<name><i>=<value>".
func cookies(name string, n int, value string) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = name + strconv.Itoa(i) + "=" + value
	}
	return out
}

func malformedCases() []malformedCase {
	ofSize := func(size int) string { return strings.Join(cookies("c", size/66+1, strings.Repeat("v", 60)), "; ") }
	cookieLines := cookies("Cookie: c", 1000, "v")
	cookieLines[500] = "Cookie: session=bob-session"
	return []malformedCase{
		{"Cookie of 8 KiB, session last", []string{"Cookie: " + ofSize(8<<10) + "; session=alice-session"}},
		{"Cookie of 64 KiB, session last", []string{"Cookie: " + ofSize(64<<10) + "; session=alice-session"}},
		{"Cookie of 900 KiB, session first", []string{"Cookie: session=alice-session; " + ofSize(900<<10)}},
		{"Cookie of 2 MiB", []string{"Cookie: session=alice-session; " + ofSize(2<<20)}},
		{"5,000 cookies, session last", []string{"Cookie: " + strings.Join(cookies("k", 5000, "v"), "; ") + "; session=bob-session"}},
		{"1,000 Cookie lines, bob's session in line 500", cookieLines},
		{"100,000 semicolons after the session", []string{"Cookie: session=alice-session" + strings.Repeat(";", 100_000)}},
		{"Authorization of 64 KiB", []string{"Authorization: Bearer " + strings.Repeat("a", 64<<10)}},
		{"Authorization: Bearer (no token)", []string{"Authorization: Bearer"}},
		{"Authorization: Bearer + space", []string{"Authorization: Bearer "}},
		{"Authorization with two spaces", []string{"Authorization: Bearer  alice-token"}},
		{"Authorization scheme upper case", []string{"Authorization: BEARER alice-token"}},
		{"Authorization with a tab", []string{"Authorization: Bearer\talice-token"}},
		{"Authorization Basic", []string{"Authorization: Basic YWxpY2U6cHc="}},
		{"Authorization with trailing junk", []string{"Authorization: Bearer alice-token junk"}},
		{"two Authorization headers, alice first", []string{"Authorization: Bearer alice-token", "Authorization: Bearer bob-token"}},
		{"two Authorization headers, bob first", []string{"Authorization: Bearer bob-token", "Authorization: Bearer alice-token"}},
		{"empty Authorization", []string{"Authorization:"}},
		{"non-UTF-8 session cookie", []string{"Cookie: session=\xff\xfe\xfd"}},
		{"non-UTF-8 after a valid session", []string{"Cookie: session=alice-session\x80"}},
		{"non-UTF-8 bearer token", []string{"Authorization: Bearer \xff\xfe"}},
		{"non-UTF-8 in another header", []string{"Cookie: session=alice-session", "X-Note: \xc3\x28\xa0\xa1"}},
		{"NUL byte in the cookie", []string{"Cookie: session=alice\x00-session"}},
		{"bare CR in the cookie", []string{"Cookie: session=alice\r-session"}},
		{"duplicate session cookies, alice first", []string{"Cookie: session=alice-session; session=bob-session"}},
		{"duplicate session cookies, bob first", []string{"Cookie: session=bob-session; session=alice-session"}},
		{"unknown session before alice's", []string{"Cookie: session=nobody; session=alice-session"}},
		{"duplicate session in two Cookie lines", []string{"Cookie: session=alice-session", "Cookie: session=bob-session"}},
		{"app_session wins over session", []string{"Cookie: session=alice-session; app_session=bob-app-session"}},
		{"duplicate app_session, unknown first", []string{"Cookie: app_session=nobody; app_session=bob-app-session; session=alice-session"}},
		{"every credential of a different user", []string{"Authorization: Bearer carol-token", "Cookie: app_session=bob-app-session; app_access_token=alice-app-token; session=anon-session"}},
		{"Cookie of semicolons only", []string{"Cookie: ;;;;"}},
		{"Cookie '='", []string{"Cookie: ="}},
		{"Cookie name without value", []string{"Cookie: session"}},
		{"Cookie value starting with '='", []string{"Cookie: session==alice-session"}},
		{"Cookie with spaces around '='", []string{"Cookie: session = alice-session"}},
		{"quoted session cookie", []string{`Cookie: session="alice-session"`}},
		{"unbalanced quote", []string{`Cookie: session="alice-session`}},
		{"cookie name in upper case", []string{"Cookie: Session=alice-session; SESSION=bob-session"}},
		{"empty Cookie", []string{"Cookie:"}},
		// The plant: 3,001 empty cookies hide alice's session from the plugin's
		// cookie parser behind a shared Authorization value; then everyone
		// else with that value must not get alice's identity from the cache.
		{"3,001 empty cookies hide alice's session behind Bearer undefined", []string{"Authorization: Bearer undefined", "Cookie: " + strings.Repeat(";", 3001) + "session=alice-session"}},
		{"then Bearer undefined alone", []string{"Authorization: Bearer undefined"}},
		// A fake CORS preflight carries a body and alice's credentials.
		{"OPTIONS with Origin, Access-Control-Request-Method and alice's session", []string{"Origin: https://app.example.test", "Access-Control-Request-Method: POST", "Cookie: session=alice-session"}},
		{"header line without colon", []string{"Cookie: session=alice-session", "this is not a header"}},
		{"header name with a space", []string{"Cookie: session=alice-session", "Bad Name: x"}},
		{"header name of 64 KiB", []string{"Cookie: session=alice-session", "X-" + strings.Repeat("a", 64<<10) + ": 1"}},
		{"obsolete line folding", []string{"Cookie: session=alice-session", "X-Folded: a", " X-Authgear-User-Id: folded-forgery"}},
	}
}

// malformedMiddleware is the middleware the hostile requests go through.
var malformedMiddleware = stack.Middleware{Name: "mal", Options: map[string]any{"cacheTTL": "60s"}}

// maxCookies is net/http's limit on the cookies of a request (GODEBUG
// httpcookiemaxnum, Go 1.24.8 and later for modules at go 1.24 or newer,
// which Traefik v3.6.12 is): with more, Request.Cookie finds none.
const maxCookies = 3000

// runMalformed sends each hostile request twice (a cache miss, then a hit):
// the answer must be defined, the identity the resolver's for the request as
// Traefik's Go server parses it, or, past maxCookies (which Go release
// decides), for the request without its cookies (alt).
func runMalformed(_ *options, e *env, rep *report) error {
	const part = "malformed"
	var requests, passed, overLimit int64
	var wrong, undefined tally // another identity at the backend; 5xx not explained by the resolver, or no answer to a valid request
	refused := map[int]int64{}
	addr, cases := e.Traefik.EntryAddr, malformedCases()
	for _, c := range cases {
		msg := rawMessage("GET", "/mal/x?small=1", addr, append(slices.Clip(c.lines), forgedLine), false, nil)
		var want, alt string
		req, err := http.ReadRequest(bufio.NewReader(bytes.NewReader(msg)))
		if err == nil {
			h := req.Header.Clone()
			if delete(h, "Cookie"); strings.Count(strings.Join(req.Header["Cookie"], ";"), ";") < maxCookies {
				h = req.Header
			}
			want, alt = e.identity(req.Header), e.identity(h)
		}
		for attempt := 1; attempt <= 2; attempt++ {
			requests++
			calls := e.Resolver.Calls()
			a := sendRaw(addr, msg)
			asked := e.Resolver.Calls() > calls
			if a.backend && a.identity == alt && a.identity != want {
				overLimit++ // Go's cookie limit in Traefik's build: no credential
				a.identity = want
			}
			what := fmt.Sprintf("%s (request %d): status %d %s, backend saw %q, want %q (parsed=%v)", c.name, attempt, a.status, a.err, a.identity, want, err == nil)
			switch {
			case a.backend && a.identity == want && err == nil:
				passed++
			case a.backend:
				wrong.add(what)
			case a.status >= 400 && a.status < 500,
				(a.status == http.StatusBadGateway || a.status == http.StatusGatewayTimeout) && asked, // the resolver refused the request: a resolver failure, as documented
				a.status == statusTransportError && err != nil:                                        // Go's server drops some malformed requests without an answer
				refused[a.status]++
			default:
				undefined.add(what)
			}
		}
	}
	rep.info(part, "hostile requests (cases × 2: cache miss, then hit)", fmt.Sprintf("%s (%d cases)", count(requests), len(cases)))
	rep.info(part, "passed on with the identity the resolver gives for them", count(passed))
	rep.info(part, fmt.Sprintf("of these, with over %s cookies and passed on as carrying no credential (Go's cookie limit)", count(maxCookies)), count(overLimit))
	rep.info(part, "refused with a defined answer (4xx from Traefik; 502 when the resolver refused)", statusCounts(refused))
	rep.check(part, "reached the backend with another identity", wrong.String(), "0", wrong.n == 0)
	rep.check(part, "undefined answers (500, no answer to a valid request)", undefined.String(), "0", undefined.n == 0)
	return nil
}
