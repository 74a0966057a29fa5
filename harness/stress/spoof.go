package main

import (
	"fmt"
	"net/http"
	"sort"
	"strings"
	"sync"
)

// identityHeaderNames are the headers Authgear's resolver issues, and one it
// may add some day (the plugin must strip every x-authgear-* name).
var identityHeaderNames = []string{
	"X-Authgear-Session-Valid",
	"X-Authgear-User-Id",
	"X-Authgear-User-Anonymous",
	"X-Authgear-User-Verified",
	"X-Authgear-User-Can-Reauthenticate",
	"X-Authgear-User-Roles",
	"X-Authgear-Session-Amr",
	"X-Authgear-Session-Authenticated-At",
	"X-Authgear-Some-Future-Header",
}

// spellings returns the ways a client can spell an identity header name that
// a backend may still read as that header.
func spellings(canonical string) []string {
	lower := strings.ToLower(canonical)
	alt := []byte(lower)
	for i := range alt {
		if i%2 == 1 && alt[i] >= 'a' && alt[i] <= 'z' {
			alt[i] -= 'a' - 'A'
		}
	}
	under := strings.ReplaceAll(canonical, "-", "_")
	first := strings.Replace(canonical, "-", "_", 1)
	rest := "X-" + strings.ReplaceAll(canonical[2:], "-", "_")
	return dedupe([]string{
		canonical, lower, strings.ToUpper(canonical), string(alt),
		under, strings.ToUpper(under), strings.ToLower(under), first, rest,
	})
}

func dedupe(in []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, s := range in {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}

// spoofResult counts the outcomes of the spoofing matrix.
type spoofResult struct {
	mu        sync.Mutex
	tried     map[string]int64 // by protocol
	reached   int64
	forged    int64 // backend saw an identity header or value the resolver did not issue
	damaged   int64 // backend's real identity altered or missing
	notPassed map[int]int64
	examples  []string
}

func (r *spoofResult) record(proto, what string, want string, a answer) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.tried[proto]++
	if !a.backend {
		r.notPassed[a.status]++
		return
	}
	r.reached++
	if a.identity == want {
		return
	}
	if extra := missingFrom(a.identity, want); len(extra) > 0 {
		r.forged++
	} else {
		r.damaged++
	}
	if len(r.examples) < 5 {
		r.examples = append(r.examples, fmt.Sprintf("%s %s: backend saw %q, want %q", proto, what, a.identity, want))
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

// runSpoof sends every spelling of every identity header in every way a
// client can, with and without valid credentials, over HTTP/1.1, HTTP/2 over
// TLS and h2c, and counts what reached the backend.
func runSpoof(o *options, rep *report) error {
	const part = "spoof"
	s, err := startStack([]mwSpec{{name: "spoof", options: []string{"cacheTTL: 60s"}}})
	if err != nil {
		return err
	}
	defer s.close()
	rep.info(part, "control: a harmless header sent these ways reaches a backend without the plugin", strings.Join(controlChannels(s), ", "))
	r := spoofMatrix(s)
	spoofReport(rep, r)
	s.health(rep, part)
	return nil
}

// spoofMatrix runs the matrix against a stack that has a "spoof" middleware.
func spoofMatrix(s *stack) *spoofResult {
	r := &spoofResult{tried: map[string]int64{}, notPassed: map[int]int64{}}
	all := knownCredentials(s.oracle)
	creds := []credential{all[0], all[5], all[len(all)-1]} // alice session, bob bearer, none
	tasks := make(chan func(), 64)
	var wg sync.WaitGroup
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for t := range tasks {
				t()
			}
		}()
	}
	tlsClient, h2c := newTLSClient(), newH2CClient()
	n := 0
	for _, canonical := range identityHeaderNames {
		for _, name := range spellings(canonical) {
			for _, c := range creds {
				for _, m := range h1Modes {
					n++
					msg := m.message(s, name, fmt.Sprintf("forged-%d", n), c)
					what := m.name + " " + name + " / " + c.name
					want := c.want
					tasks <- func() { r.record("HTTP/1.1", what, want, sendRaw(s.traefik.EntryAddr, msg)) }
				}
			}
		}
		for _, name := range dedupe(lowerAll(spellings(canonical))) {
			for _, c := range creds {
				for _, m := range h2Modes {
					n++
					value := fmt.Sprintf("forged-%d", n)
					what := m.name + " " + name + " / " + c.name
					c, m, name := c, m, name
					tasks <- func() {
						r.record("HTTP/2 (TLS)", what, c.want, answerOf(tlsClient.Do(m.request("https://"+s.TLSAddr, name, value, c))))
					}
					if h2c != nil {
						tasks <- func() {
							r.record("h2c", what, c.want, answerOf(h2c.Do(m.request(s.traefik.URL, name, value, c))))
						}
					}
				}
			}
		}
	}
	close(tasks)
	wg.Wait()
	return r
}

func lowerAll(in []string) []string {
	out := make([]string, len(in))
	for i, s := range in {
		out[i] = strings.ToLower(s)
	}
	return out
}

// spoofReport adds the matrix's figures to the report.
func spoofReport(rep *report, r *spoofResult) {
	const part = "spoof"
	var total int64
	protos := make([]string, 0, len(r.tried))
	for p, n := range r.tried {
		total += n
		protos = append(protos, fmt.Sprintf("%s %s", p, count(n)))
	}
	sort.Strings(protos)
	rep.info(part, "variants tried (spelling × way × credentials × protocol)", count(total)+" ("+strings.Join(protos, ", ")+")")
	rep.info(part, "variants answered without reaching the backend", statusCounts(r.notPassed))
	rep.check(part, "variants where the backend saw an identity header the resolver did not issue",
		count(r.forged)+firstExample(r.examples), "0", r.forged == 0 && total > 0)
	rep.check(part, "variants where the backend's real identity was altered or lost",
		count(r.damaged)+firstExample(r.examples), "0", r.damaged == 0)
	rep.info(part, "variants that reached the backend with exactly the resolver's identity", count(r.reached-r.forged-r.damaged))
}

// h1Mode is one way of sending a forged header over HTTP/1.1.
type h1Mode struct {
	name    string
	message func(s *stack, name, value string, c credential) []byte
}

// credLines renders a credential's headers as lines.
func credLines(c credential) []string {
	var out []string
	for k, vs := range c.header {
		for _, v := range vs {
			out = append(out, k+": "+v)
		}
	}
	return out
}

// otherSpelling is the name with "-" and "_" swapped.
func otherSpelling(name string) string {
	return strings.NewReplacer("-", "_", "_", "-").Replace(name)
}

var h1Modes = []h1Mode{
	{"header", func(s *stack, n, v string, c credential) []byte {
		return rawMessage("GET", "/spoof/x?small=1", s.traefik.EntryAddr, append(credLines(c), n+": "+v), false, nil)
	}},
	{"empty value", func(s *stack, n, v string, c credential) []byte {
		return rawMessage("GET", "/spoof/x?small=1", s.traefik.EntryAddr, append(credLines(c), n+":"), false, nil)
	}},
	{"duplicated", func(s *stack, n, v string, c credential) []byte {
		return rawMessage("GET", "/spoof/x?small=1", s.traefik.EntryAddr, append(credLines(c), n+": "+v, n+": "+v+"-again"), false, nil)
	}},
	{"in two spellings", func(s *stack, n, v string, c credential) []byte {
		return rawMessage("GET", "/spoof/x?small=1", s.traefik.EntryAddr, append(credLines(c), n+": "+v, otherSpelling(n)+": "+v+"-other"), false, nil)
	}},
	{"in a fake CORS preflight with a body", func(s *stack, n, v string, c credential) []byte {
		return rawMessage("OPTIONS", "/spoof/x?small=1", s.traefik.EntryAddr, append(credLines(c), n+": "+v, "Origin: https://app.example.test", "Access-Control-Request-Method: POST"), true, nil)
	}},
	{"listed in Connection", func(s *stack, n, v string, c credential) []byte {
		return rawMessage("GET", "/spoof/x?small=1", s.traefik.EntryAddr, append(credLines(c), n+": "+v, "Connection: keep-alive, "+n), false, nil)
	}},
	{"only in Connection", func(s *stack, n, v string, c credential) []byte {
		return rawMessage("GET", "/spoof/x?small=1", s.traefik.EntryAddr, append(credLines(c), "Connection: "+n), false, nil)
	}},
	{"declared trailer", func(s *stack, n, v string, c credential) []byte {
		return rawMessage("POST", "/spoof/x?small=1", s.traefik.EntryAddr, append(credLines(c), "Trailer: "+n, "Te: trailers"), true, []string{n + ": " + v})
	}},
	{"undeclared trailer", func(s *stack, n, v string, c credential) []byte {
		return rawMessage("POST", "/spoof/x?small=1", s.traefik.EntryAddr, credLines(c), true, []string{n + ": " + v})
	}},
}

// h2Mode is one way of sending a forged header over HTTP/2 (names are lower
// case on the wire; Connection is forbidden there).
type h2Mode struct {
	name    string
	request func(base, name, value string, c credential) *http.Request
}

var h2Modes = []h2Mode{
	{"header", func(base, n, v string, c credential) *http.Request {
		req := get(base+"/spoof/x?small=1", c.header)
		req.Header[n] = []string{v}
		return req
	}},
	{"duplicated, one empty", func(base, n, v string, c credential) *http.Request {
		req := get(base+"/spoof/x?small=1", c.header)
		req.Header[n] = []string{v, ""}
		return req
	}},
	{"trailer", func(base, n, v string, c credential) *http.Request {
		req, _ := http.NewRequest(http.MethodPost, base+"/spoof/x?small=1", strings.NewReader("hello"))
		for k, vs := range c.header {
			req.Header[k] = vs
		}
		req.ContentLength = -1
		req.Trailer = http.Header{n: {v}}
		return req
	}},
}
