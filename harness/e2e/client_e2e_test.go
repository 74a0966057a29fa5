//go:build e2e

package e2e

import (
	"bufio"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/traefik-authgear/traefik-authgear/harness/internal/echo"
	"github.com/traefik-authgear/traefik-authgear/harness/internal/standin"
)

// echoed is what the echo backend reports about the request it received.
type echoed = echo.Request

// reply is what the client got.
type reply struct {
	status int
	header http.Header
	body   string
	// echo is what the backend received; nil when the answer did not come
	// from the backend.
	echo *echoed
	err  error // reading the body failed
}

// request sends method path with headers given as name, value pairs.
func (e *env) request(t *testing.T, method, path, body string, headers ...string) reply {
	t.Helper()
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, e.traefik.URL+path, r)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		if strings.EqualFold(headers[i], "Host") {
			req.Host = headers[i+1]
			continue
		}
		req.Header.Add(headers[i], headers[i+1])
	}
	resp, err := e.client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	return readReply(t, resp)
}

// get sends a GET.
func (e *env) get(t *testing.T, path string, headers ...string) reply {
	t.Helper()
	return e.request(t, http.MethodGet, path, "", headers...)
}

// raw sends a request written byte for byte (header names spelt as given),
// on a new connection.
func (e *env) raw(t *testing.T, method, path string, headerLines ...string) reply {
	t.Helper()
	conn, err := net.DialTimeout("tcp", e.traefik.EntryAddr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(15 * time.Second))
	msg := method + " " + path + " HTTP/1.1\r\nHost: " + e.traefik.EntryAddr + "\r\n" +
		strings.Join(append(headerLines, "Connection: close"), "\r\n") + "\r\n\r\n"
	if _, err := io.WriteString(conn, msg); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("raw %s %s: %v", method, path, err)
	}
	return readReply(t, resp)
}

// readReply reads and closes resp, decoding the echo backend's report.
func readReply(t *testing.T, resp *http.Response) reply {
	t.Helper()
	r := readReplyErr(resp)
	if r.err != nil {
		t.Fatal(r.err)
	}
	return r
}

// readReplyErr is readReply for goroutines: a read error is in r.err.
func readReplyErr(resp *http.Response) reply {
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	r := reply{status: resp.StatusCode, header: resp.Header, body: string(body), err: err}
	var ec echoed
	if strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") &&
		json.Unmarshal(body, &ec) == nil && ec.Method != "" {
		r.echo = &ec
	}
	return r
}

// identity returns the identity headers the backend received, names
// lower-cased with "_" read as "-" (the way CGI-style backends see them).
func (r reply) identity(t *testing.T) map[string]string {
	t.Helper()
	if r.echo == nil {
		t.Fatalf("the backend was not reached: %d %q", r.status, r.body)
	}
	return identityMap(r.echo)
}

// identityMap is identity for a backend report.
func identityMap(ec *echoed) map[string]string {
	id := map[string]string{}
	for name, values := range ec.Headers {
		n := strings.ReplaceAll(strings.ToLower(name), "_", "-")
		if !strings.HasPrefix(n, "x-authgear-") {
			continue
		}
		// Repeated values, or two spellings of one name, show up joined
		// with ", ", which no expected value contains.
		if prev, dup := id[n]; dup {
			values = append([]string{prev}, values...)
		}
		id[n] = strings.Join(values, ", ")
	}
	return id
}

// wantStatus fails unless the client got status.
func (r reply) wantStatus(t *testing.T, status int) reply {
	t.Helper()
	if r.status != status {
		t.Fatalf("status %d, want %d; body %q", r.status, status, r.body)
	}
	return r
}

// wantIdentity checks that the backend received exactly want's identity
// headers (none for an empty want).
func (r reply) wantIdentity(t *testing.T, want map[string]string) {
	t.Helper()
	got := r.identity(t)
	if len(got) != len(want) {
		t.Errorf("backend got identity %v\nwant %v", got, want)
		return
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("backend got identity %v\nwant %v", got, want)
			return
		}
	}
}

// users are testdata/users.json's users by their first name.
var users = func() map[string]standin.User {
	cfg, err := loadUsers()
	if err != nil {
		panic(err)
	}
	m := map[string]standin.User{}
	for _, u := range cfg.Users {
		for _, s := range u.Sessions {
			if name, ok := strings.CutSuffix(s, "-session"); ok {
				m[name] = u
			}
		}
	}
	return m
}()

// identityOf returns the identity headers a backend must see for a user
// with a valid session, as Authgear sends them.
func identityOf(t *testing.T, name string) map[string]string {
	t.Helper()
	u, ok := users[name]
	if !ok {
		t.Fatalf("no user %q in testdata/users.json", name)
	}
	id := map[string]string{
		"x-authgear-session-valid":           "true",
		"x-authgear-user-id":                 u.ID,
		"x-authgear-user-anonymous":          strconv.FormatBool(u.Anonymous),
		"x-authgear-user-verified":           strconv.FormatBool(u.Verified),
		"x-authgear-user-can-reauthenticate": strconv.FormatBool(!u.Anonymous),
		"x-authgear-session-amr":             u.AMR,
	}
	if len(u.Roles) > 0 {
		id["x-authgear-user-roles"] = strings.Join(u.Roles, ",")
	}
	if u.AuthenticatedAt != 0 {
		id["x-authgear-session-authenticated-at"] = strconv.FormatInt(u.AuthenticatedAt, 10)
	}
	return id
}

// noIdentity is what a backend sees for a request without a valid credential.
var noIdentity = map[string]string{}

// invalidSession is what a backend sees for an unknown session cookie.
var invalidSession = map[string]string{"x-authgear-session-valid": "false"}

// calls returns a function that reports how many resolver calls were made
// since calls was called.
func calls(r *resolver) func() int64 {
	start := r.Calls()
	return func() int64 { return r.Calls() - start }
}
