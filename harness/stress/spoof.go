package main

import (
	"bufio"
	"bytes"
	"cmp"
	"crypto/tls"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/traefik-authgear/traefik-authgear/harness/internal/stack"
)

// field is one header of the project's one spoofing table: forged headers
// (every spelling, and all at once) × ways × routes with credentials × protocols.
type field struct{ name, value string }

// forgedHeaders are the headers Authgear's resolver issues and one it may
// add some day (the plugin strips every x-authgear-* name), with values that
// would grant something if a backend or the plugin's policy believed them.
var forgedHeaders = []field{
	{"X-Authgear-Session-Valid", "true"}, {"X-Authgear-User-Id", "forged"}, {"X-Authgear-User-Anonymous", "false"},
	{"X-Authgear-User-Verified", "true"}, {"X-Authgear-User-Can-Reauthenticate", "true"}, {"X-Authgear-User-Roles", "admin"},
	{"X-Authgear-Session-Amr", "pwd otp"}, {"X-Authgear-Session-Authenticated-At", "1795920688"}, {"X-Authgear-Some-Future-Header", "forged"},
}

// spellings returns the ways a client can spell an identity header name that
// a backend may still read as that header; lower: as HTTP/2 sends them.
func spellings(canonical string, lower bool) []string {
	mixed := strings.ToLower(canonical[:len(canonical)/2]) + strings.ToUpper(canonical[len(canonical)/2:])
	under := strings.ReplaceAll(canonical, "-", "_")
	out := []string{canonical, strings.ToLower(canonical), strings.ToUpper(canonical), mixed, under,
		strings.ToUpper(under), strings.ToLower(under), strings.Replace(canonical, "-", "_", 1), "X-" + strings.Replace(canonical[2:], "-", "_", 1),
		"X-" + strings.ReplaceAll(canonical[2:], "-", "_")}
	for i := range out {
		if lower {
			out[i] = strings.ToLower(out[i])
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// subjects are the forged headers of one variant each: every spelling of
// every name alone, then all of them at once.
func subjects(lower bool) [][]field {
	var out [][]field
	var all []field
	for _, h := range forgedHeaders {
		for _, n := range spellings(h.name, lower) {
			out, all = append(out, []field{{n, h.value}}), append(all, field{n, h.value})
		}
	}
	return append(out, all)
}

// spoofWay is one way of sending forged headers: header and trailer lines
// for each ({n} its name, {o} the name with "-" and "_" swapped, {v} its
// value), extra lines once ({names} the names). A method other than GET
// sends a chunked body.
type spoofWay struct {
	name, method           string
	header, trailer, extra []string
	// h1Only: Connection is forbidden in HTTP/2, and Go's HTTP/2 client
	// declares every trailer. reaches: without the plugin, Traefik passes
	// forged headers sent this way on.
	h1Only, reaches bool
}

var spoofWays = []spoofWay{
	{name: "header", header: []string{"{n}: {v}"}, reaches: true},
	{name: "empty value", header: []string{"{n}:"}, reaches: true},
	{name: "duplicated", header: []string{"{n}: {v}", "{n}: {v}-again"}, reaches: true},
	{name: "duplicated, one empty", header: []string{"{n}: {v}", "{n}:"}, reaches: true},
	{name: "in two spellings", header: []string{"{n}: {v}", "{o}: {v}-other"}, reaches: true},
	{name: "in a fake CORS preflight with a body", method: http.MethodOptions, header: []string{"{n}: {v}"},
		extra: []string{"Origin: https://app.example.test", "Access-Control-Request-Method: POST"}, reaches: true},
	{name: "listed in Connection", header: []string{"{n}: {v}"}, extra: []string{"Connection: keep-alive, {names}"}, h1Only: true},
	{name: "only in Connection", extra: []string{"Connection: keep-alive, {names}"}, h1Only: true},
	// Go's server announces declared trailers to the backend (without
	// their values) when nothing strips the Trailer header.
	{name: "declared trailer", method: http.MethodPost, trailer: []string{"{n}: {v}"}, extra: []string{"Trailer: {names}", "Te: trailers"}, reaches: true},
	{name: "undeclared trailer", method: http.MethodPost, trailer: []string{"{n}: {v}"}, h1Only: true},
}

// message is w's HTTP/1.1 request with the forged headers fs and credential c.
func (w spoofWay) message(path, host string, fs []field, c credential) []byte {
	var lines, trailers, names []string
	for k, vs := range c.header {
		lines = append(lines, k+": "+vs[0])
	}
	for _, f := range fs {
		r := strings.NewReplacer("{n}", f.name, "{o}", strings.NewReplacer("-", "_", "_", "-").Replace(f.name), "{v}", f.value)
		for _, l := range w.header {
			lines = append(lines, r.Replace(l))
		}
		for _, l := range w.trailer {
			trailers = append(trailers, r.Replace(l))
		}
		names = append(names, f.name)
	}
	for _, l := range w.extra {
		lines = append(lines, strings.ReplaceAll(l, "{names}", strings.Join(names, ", ")))
	}
	return rawMessage(cmp.Or(w.method, http.MethodGet), path, host, lines, w.method != "", trailers)
}

// overH2 is msg as Go's HTTP/2 client sends it to base: names in lower
// case, trailers declared by the client itself.
func overH2(base string, msg []byte) *http.Request {
	req, _ := http.ReadRequest(bufio.NewReader(bytes.NewReader(msg)))
	req.URL, _ = url.Parse(base + req.RequestURI)
	req.RequestURI, req.Host, req.Close = "", "", false
	delete(req.Header, "Connection")
	delete(req.Header, "Trailer")
	return req
}

// spoofMiddlewares are the matrix's middlewares; none of their decisions
// may follow a forged header.
var spoofMiddlewares = []stack.Middleware{
	{Name: "spoof", Options: map[string]any{"cacheTTL": "60s"}},
	{Name: "require", Options: map[string]any{"cacheTTL": "60s", "requireSession": true}},
	{Name: "roles", Options: map[string]any{"cacheTTL": "60s", "allowedRoles": []string{"admin"}}},
}

// spoofTarget is a route of the matrix with a credential and the status it
// must get there; 200 means from the backend. Status 0 is the control, the
// route without the plugin: Traefik itself must pass forged headers on as
// spoofWay.reaches says.
type spoofTarget struct {
	route, cred string
	status      int
}

var spoofTargets = []spoofTarget{
	{stack.PlainRoute, "no credential", 0},
	{"/spoof/", "alice session", 200}, {"/spoof/", "bob bearer", 200}, {"/spoof/", "no credential", 200},
	{"/require/", "alice session", 200}, {"/require/", "bob bearer", 200}, {"/require/", "no credential", 401},
	{"/roles/", "alice session", 200}, {"/roles/", "bob session", 403}, {"/roles/", "no credential", 401},
}

// spoofResult counts the outcomes: controlWrong, Traefik did not pass forged
// headers on as spoofWay.reaches says; status, not the target's answer;
// forged, the backend saw an identity header or value the resolver did not
// issue; damaged, the real identity was altered or lost.
type spoofResult struct {
	mu                                    sync.Mutex
	tried                                 map[string]int64 // by protocol
	notPassed                             map[int]int64    // by status
	exact                                 int64
	controlWrong, status, forged, damaged tally
}

// record judges answer a to the variant what: way w to target t with
// credential c over proto.
func (r *spoofResult) record(proto, what string, w spoofWay, t spoofTarget, c credential, a answer) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.tried[proto]++
	what = fmt.Sprintf("%s: %d %s, backend saw %q, want %q", what, a.status, a.err, a.identity, c.want)
	if t.status == 0 {
		if reached := a.backend && a.identity != ""; reached != w.reaches {
			r.controlWrong.add(what)
		}
		return
	}
	if a.status != t.status || a.backend != (t.status == http.StatusOK) {
		r.status.add(what)
	}
	issued := strings.Split(c.want, ";")
	switch {
	case !a.backend:
		r.notPassed[a.status]++
	case a.identity == c.want:
		r.exact++
	case slices.ContainsFunc(strings.Split(a.identity, ";"), func(e string) bool { return e != "" && !slices.Contains(issued, e) }):
		r.forged.add(what)
	default:
		r.damaged.add(what)
	}
}

// runSpoof sends every subject in every way to every target, over HTTP/1.1,
// HTTP/2 over TLS and h2c (prior knowledge), four at a time.
func runSpoof(_ *options, e *env, rep *report) error {
	r := &spoofResult{tried: map[string]int64{}, notPassed: map[int]int64{}}
	creds := map[string]credential{}
	for _, c := range knownCredentials(e.identity) {
		creds[c.name] = c
	}
	var h2c http.Protocols
	h2c.SetUnencryptedHTTP2(true)
	clients := map[string]*http.Client{ // TLS: Traefik's default certificate, on loopback
		"HTTP/2 (TLS)": newClient(&http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}, ForceAttemptHTTP2: true}),
		"h2c":          newClient(&http.Transport{Protocols: &h2c}),
	}
	bases := map[string]string{"HTTP/2 (TLS)": e.tlsURL, "h2c": e.Traefik.URL}
	var wg sync.WaitGroup
	slots := make(chan struct{}, 4)
	for _, proto := range []string{"HTTP/1.1", "HTTP/2 (TLS)", "h2c"} {
		for _, fs := range subjects(proto != "HTTP/1.1") {
			for _, w := range spoofWays {
				for _, t := range spoofTargets {
					// Traefik's Go HTTP/2 server closes the connection (PROTOCOL_ERROR)
					// on trailers for a stream it has answered: over HTTP/2,
					// trailers go only where the request is passed on.
					if proto != "HTTP/1.1" && (w.h1Only || w.trailer != nil && t.status > 200) {
						continue
					}
					names := fs[0].name
					if len(fs) > 1 {
						names = "every spelling of every name"
					}
					c := creds[t.cred]
					what := fmt.Sprintf("%s %s %s / %s at %s", proto, w.name, names, c.name, t.route)
					msg := w.message(t.route+"x?small=1", e.Traefik.EntryAddr, fs, c)
					slots <- struct{}{}
					wg.Go(func() {
						if client := clients[proto]; client != nil {
							r.record(proto, what, w, t, c, answerOf(client.Do(overH2(bases[proto], msg))))
						} else {
							r.record(proto, what, w, t, c, sendRaw(e.Traefik.EntryAddr, msg))
						}
						<-slots
					})
				}
			}
		}
	}
	wg.Wait()
	const part = "spoof"
	var total int64
	var protos []string
	for p, n := range r.tried {
		total += n
		protos = append(protos, p+" "+count(n))
	}
	sort.Strings(protos)
	rep.check(part, "control: variants without the plugin where Traefik did not pass forged headers on as spoofWays says", r.controlWrong.String(), "0", r.controlWrong.n == 0 && total > 0)
	rep.info(part, "variants tried (spelling × way × credentials × route × protocol)", count(total)+" ("+strings.Join(protos, ", ")+")")
	rep.info(part, "variants answered without reaching the backend", statusCounts(r.notPassed))
	rep.check(part, "variants answered otherwise than the policy (200 from the backend; 401 requireSession, 403 allowedRoles)", r.status.String(), "0", r.status.n == 0)
	rep.check(part, "variants where the backend saw an identity header the resolver did not issue", r.forged.String(), "0", r.forged.n == 0 && total > 0)
	rep.check(part, "variants where the backend's real identity was altered or lost", r.damaged.String(), "0", r.damaged.n == 0)
	rep.info(part, "variants that reached the backend with exactly the resolver's identity", count(r.exact))
	return nil
}
