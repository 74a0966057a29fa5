package main

import (
	"fmt"
	"io"
	"net/http"
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/traefik-authgear/traefik-authgear/harness/internal/harness"
	"github.com/traefik-authgear/traefik-authgear/harness/internal/stack"
)

// This is the project's one table of spoofed identity headers: forged
// headers (forgedHeaders, each in every spelling, and all at once) × ways of
// sending them (spoofWays) × credentials × routes (spoofTargets) ×
// protocols.

// field is one header: name and value.
type field struct{ name, value string }

// forgedHeaders are the headers Authgear's resolver issues, and one it may
// add some day (the plugin must strip every x-authgear-* name), each with a
// value that would grant something if a backend or the plugin's own policy
// (requireSession, allowedRoles) believed it.
var forgedHeaders = []field{
	{"X-Authgear-Session-Valid", "true"},
	{"X-Authgear-User-Id", "forged"},
	{"X-Authgear-User-Anonymous", "false"},
	{"X-Authgear-User-Verified", "true"},
	{"X-Authgear-User-Can-Reauthenticate", "true"},
	{"X-Authgear-User-Roles", "admin"},
	{"X-Authgear-Session-Amr", "pwd otp"},
	{"X-Authgear-Session-Authenticated-At", "1795920688"},
	{"X-Authgear-Some-Future-Header", "forged"},
}

// spellings returns the ways a client can spell an identity header name that
// a backend may still read as that header; lower: as HTTP/2 sends them.
func spellings(canonical string, lower bool) []string {
	alt := []byte(strings.ToLower(canonical))
	for i := 1; i < len(alt); i += 2 {
		if alt[i] >= 'a' && alt[i] <= 'z' {
			alt[i] -= 'a' - 'A'
		}
	}
	under := strings.ReplaceAll(canonical, "-", "_")
	out := []string{canonical, strings.ToLower(canonical), strings.ToUpper(canonical), string(alt), under,
		strings.ToUpper(under), strings.ToLower(under), strings.Replace(canonical, "-", "_", 1), "X-" + strings.ReplaceAll(canonical[2:], "-", "_")}
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
			out = append(out, []field{{n, h.value}})
			all = append(all, field{n, h.value})
		}
	}
	return append(out, all)
}

// spoofWay is one way of sending forged headers.
type spoofWay struct {
	name string
	// header renders one forged header as header lines (nil: none).
	header func(f field) []string
	// preflight makes the request a fake CORS preflight (OPTIONS) with a body.
	preflight bool
	// connection lists the forged names in Connection.
	connection bool
	// trailer sends the forged headers as trailers of a chunked POST,
	// declared in a Trailer header when declare.
	trailer, declare bool
	// h1Only: Connection is forbidden in HTTP/2, and Go's HTTP/2 client
	// declares every trailer.
	h1Only bool
	// reaches: without the plugin, Traefik passes the forged headers on.
	reaches bool
}

func asHeader(f field) []string { return []string{f.name + ": " + f.value} }

var spoofWays = []spoofWay{
	{name: "header", header: asHeader, reaches: true},
	{name: "empty value", header: func(f field) []string { return []string{f.name + ":"} }, reaches: true},
	{name: "duplicated", header: func(f field) []string { return []string{f.name + ": " + f.value, f.name + ": " + f.value + "-again"} }, reaches: true},
	{name: "duplicated, one empty", header: func(f field) []string { return []string{f.name + ": " + f.value, f.name + ":"} }, reaches: true},
	{name: "in two spellings", header: func(f field) []string {
		return []string{f.name + ": " + f.value, strings.NewReplacer("-", "_", "_", "-").Replace(f.name) + ": " + f.value + "-other"}
	}, reaches: true},
	{name: "in a fake CORS preflight with a body", header: asHeader, preflight: true, reaches: true},
	{name: "listed in Connection", header: asHeader, connection: true, h1Only: true},
	{name: "only in Connection", connection: true, h1Only: true},
	// Go's server announces the declared names to the backend (as trailers
	// without value) when nothing strips the Trailer header.
	{name: "declared trailer", trailer: true, declare: true, reaches: true},
	{name: "undeclared trailer", trailer: true, h1Only: true},
}

// request returns what w sends with the forged headers fs and credential c:
// the method, the header and trailer lines, and whether the body is chunked.
func (w spoofWay) request(fs []field, c credential) (method string, lines, trailers []string, chunked bool) {
	for k, vs := range c.header {
		for _, v := range vs {
			lines = append(lines, k+": "+v)
		}
	}
	var names []string
	for _, f := range fs {
		names = append(names, f.name)
		if w.header != nil {
			lines = append(lines, w.header(f)...)
		}
		if w.trailer {
			trailers = append(trailers, f.name+": "+f.value)
		}
	}
	if w.connection {
		lines = append(lines, "Connection: keep-alive, "+strings.Join(names, ", "))
	}
	if w.declare {
		lines = append(lines, "Trailer: "+strings.Join(names, ", "), "Te: trailers")
	}
	switch {
	case w.preflight:
		return http.MethodOptions, append(lines, "Origin: https://app.example.test", "Access-Control-Request-Method: POST"), nil, true
	case w.trailer:
		return http.MethodPost, lines, trailers, true
	}
	return http.MethodGet, lines, nil, false
}

// h2Request is the request of rawMessage for Go's HTTP/2 client, which
// declares the trailers itself.
func h2Request(url, method string, lines, trailers []string, chunked bool) *http.Request {
	var body io.Reader
	if chunked {
		body = strings.NewReader("hello")
	}
	req, _ := http.NewRequest(method, url, body)
	add := func(h http.Header, line string) {
		k, v, _ := strings.Cut(line, ":")
		if k != "Trailer" && k != "Te" {
			h[k] = append(h[k], strings.TrimSpace(v))
		}
	}
	for _, l := range lines {
		add(req.Header, l)
	}
	if chunked {
		req.ContentLength = -1
	}
	if len(trailers) > 0 {
		req.Trailer = http.Header{}
		for _, t := range trailers {
			add(req.Trailer, t)
		}
	}
	return req
}

// spoofTarget is a route of the matrix and the status each credential must
// get there: 200 from the backend unless listed.
type spoofTarget struct {
	route  string
	status map[string]int // by credential name
	// control is the route without the plugin, sent without credentials:
	// what Traefik itself passes on (spoofWay.reaches).
	control bool
}

// spoofMiddlewares are the matrix's middlewares; none of their decisions
// may follow a forged header.
var spoofMiddlewares = []stack.Middleware{
	{Name: "spoof", Options: map[string]any{"cacheTTL": "60s"}},
	{Name: "require", Options: map[string]any{"cacheTTL": "60s", "requireSession": true}},
	{Name: "roles", Options: map[string]any{"cacheTTL": "60s", "allowedRoles": []string{"admin"}}},
}

var spoofTargets = []spoofTarget{
	{route: stack.PlainRoute, control: true},
	{route: "/spoof/"},
	{route: "/require/", status: map[string]int{"no credential": http.StatusUnauthorized}},
	{route: "/roles/", status: map[string]int{"bob bearer": http.StatusForbidden, "no credential": http.StatusUnauthorized}},
}

// spoofResult counts the outcomes of the matrix.
type spoofResult struct {
	mu        sync.Mutex
	tried     map[string]int64    // by protocol
	control   map[string][2]int64 // by protocol and way: reached the backend, sent
	notPassed map[int]int64       // by status
	exact     int64
	// controlWrong: Traefik did not behave as spoofWay.reaches says; status:
	// not the target's answer; forged: the backend saw an identity header
	// or value the resolver did not issue; damaged: the real identity was
	// altered or lost.
	controlWrong, status, forged, damaged tally
}

// variant is one request of the matrix.
type variant struct {
	proto, what string
	way         spoofWay
	target      spoofTarget
	cred        credential
}

func (r *spoofResult) record(v variant, a answer) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.tried[v.proto]++
	what := fmt.Sprintf("%s: %d %s, backend saw %q, want %q", v.what, a.status, a.err, a.identity, v.cred.want)
	if v.target.control {
		reached := a.backend && a.identity != ""
		c := r.control[v.proto+" "+v.way.name]
		if c[1]++; reached {
			c[0]++
		}
		r.control[v.proto+" "+v.way.name] = c
		if reached != v.way.reaches {
			r.controlWrong.add(what)
		}
		return
	}
	want, ok := v.target.status[v.cred.name]
	if !ok {
		want = http.StatusOK
	}
	if a.status != want || a.backend != (want == http.StatusOK) {
		r.status.add(what)
	}
	switch {
	case !a.backend:
		r.notPassed[a.status]++
	case a.identity == v.cred.want:
		r.exact++
	case len(missingFrom(a.identity, v.cred.want)) > 0:
		r.forged.add(what)
	default:
		r.damaged.add(what)
	}
}

// missingFrom returns the entries of summary got that want lacks.
func missingFrom(got, want string) []string {
	w := map[string]bool{}
	for _, e := range strings.Split(want, ";") {
		w[e] = true
	}
	var out []string
	for _, e := range strings.Split(got, ";") {
		if e != "" && !w[e] {
			out = append(out, e)
		}
	}
	return out
}

// runSpoof runs the matrix on a stack of its own.
func runSpoof(o *options, rep *report) error {
	e, err := startEnv(harness.Options{}, spoofMiddlewares...)
	if err != nil {
		return err
	}
	defer e.Stop()
	spoofReport(rep, spoofMatrix(e))
	e.health(rep, "spoof")
	return nil
}

// spoofMatrix sends every subject in every way with alice's session, bob's
// bearer token and no credential to every target, over HTTP/1.1, HTTP/2 over
// TLS and h2c, four at a time.
func spoofMatrix(e *env) *spoofResult {
	r := &spoofResult{tried: map[string]int64{}, control: map[string][2]int64{}, notPassed: map[int]int64{}}
	all := knownCredentials(e.oracle)
	creds := []credential{all[0], all[5], all[len(all)-1]}
	h2 := map[string]struct {
		client *http.Client
		base   string
	}{"HTTP/2 (TLS)": {tlsClient(), e.tlsURL}, "h2c": {h2cClient(), e.Traefik.URL}}
	var wg sync.WaitGroup
	slots := make(chan struct{}, 4)
	for _, proto := range []string{"HTTP/1.1", "HTTP/2 (TLS)", "h2c"} {
		for _, fs := range subjects(proto != "HTTP/1.1") {
			for _, w := range spoofWays {
				for _, t := range spoofTargets {
					for _, c := range creds {
						// Go's HTTP/2 server, in Traefik, closes the whole connection
						// (PROTOCOL_ERROR) when trailers come for a stream it has
						// answered: over HTTP/2, trailers go only where the request
						// is passed on.
						_, refused := t.status[c.name]
						if proto != "HTTP/1.1" && (w.h1Only || w.trailer && refused) || t.control && c.name != "no credential" {
							continue
						}
						names := fs[0].name
						if len(fs) > 1 {
							names = "every spelling of every name"
						}
						v := variant{proto: proto, what: fmt.Sprintf("%s %s %s / %s at %s", proto, w.name, names, c.name, t.route), way: w, target: t, cred: c}
						method, lines, trailers, chunked := w.request(fs, c)
						path := t.route + "x?small=1"
						wg.Add(1)
						slots <- struct{}{}
						go func() {
							defer wg.Done()
							if proto == "HTTP/1.1" {
								r.record(v, sendRaw(e.Traefik.EntryAddr, rawMessage(method, path, e.Traefik.EntryAddr, lines, chunked, trailers)))
							} else {
								r.record(v, answerOf(h2[proto].client.Do(h2Request(h2[proto].base+path, method, lines, trailers, chunked))))
							}
							<-slots
						}()
					}
				}
			}
		}
	}
	wg.Wait()
	return r
}

// spoofReport adds the matrix's figures to the report.
func spoofReport(rep *report, r *spoofResult) {
	const part = "spoof"
	var total int64
	var protos, ways []string
	for p, n := range r.tried {
		total += n
		protos = append(protos, p+" "+count(n))
	}
	for way, c := range r.control {
		verdict := fmt.Sprintf("%d of %d", c[0], c[1])
		switch c[0] {
		case 0:
			verdict = "no"
		case c[1]:
			verdict = "yes"
		}
		ways = append(ways, way+": "+verdict)
	}
	sort.Strings(protos)
	sort.Strings(ways)
	rep.info(part, "control: forged headers sent these ways reach a backend without the plugin", strings.Join(ways, ", "))
	rep.check(part, "control variants where Traefik did not pass forged headers on as expected", r.controlWrong.String(), "0", r.controlWrong.n == 0 && len(ways) > 0)
	rep.info(part, "variants tried (spelling × way × credentials × route × protocol)", count(total)+" ("+strings.Join(protos, ", ")+")")
	rep.info(part, "variants answered without reaching the backend", statusCounts(r.notPassed))
	rep.check(part, "variants answered otherwise than the policy (200 from the backend; 401 requireSession, 403 allowedRoles)", r.status.String(), "0", r.status.n == 0)
	rep.check(part, "variants where the backend saw an identity header the resolver did not issue", r.forged.String(), "0", r.forged.n == 0 && total > 0)
	rep.check(part, "variants where the backend's real identity was altered or lost", r.damaged.String(), "0", r.damaged.n == 0)
	rep.info(part, "variants that reached the backend with exactly the resolver's identity", count(r.exact))
}
