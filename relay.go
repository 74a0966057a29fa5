package authgear

import (
	"bytes"
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// relayHeader marks a webhook delivery relayed by a replica: the receiver
// evicts as for any verified delivery and relays it no further. It grants
// nothing: the signature is still checked.
const relayHeader = "X-Traefik-Authgear-Relay"

// Limits of the relays of one delivery.
const (
	relayTimeout  = 2 * time.Second // per relay, DNS included
	maxRelayPeers = 64              // addresses one delivery is relayed to
)

// peer is one webhookPeers entry: a host (a DNS name, resolved at each
// delivery, or an IP) and a port, reached with scheme.
type peer struct {
	scheme, host, port string
}

// parsePeers reads webhookPeers: "host:port" or "http(s)://host:port"
// entries, comma-separated or as a list.
func parsePeers(values []string) ([]peer, error) {
	var peers []peer
	for _, entry := range splitList(values) {
		scheme := "http"
		rest := entry
		if i := strings.Index(entry, "://"); i >= 0 {
			scheme = strings.ToLower(entry[:i])
			rest = entry[i+3:]
		}
		host, port, err := net.SplitHostPort(strings.TrimSuffix(rest, "/"))
		n, perr := strconv.Atoi(port)
		if (scheme != "http" && scheme != "https") || err != nil || host == "" || perr != nil || n <= 0 || n > 65535 ||
			strings.ContainsAny(host, "/?#@ ") {
			return nil, fmt.Errorf("webhookPeers entry %q must be host:port or http(s)://host:port, e.g. traefik-peers.traefik.svc.cluster.local:8000", entry)
		}
		peers = append(peers, peer{scheme: scheme, host: host, port: port})
	}
	return peers, nil
}

// lookupHost resolves a peer's host at delivery time; tests replace it.
var lookupHost = net.DefaultResolver.LookupHost

// relayDelivery relays a verified delivery to every address of every peer,
// concurrently, each within relayTimeout, and returns once all are done:
// the number of addresses reached and tried. Failures are logged with the
// peer's address, never with the body.
func relayDelivery(m *Middleware, req *http.Request, body []byte) (int, int) {
	ctx, cancel := context.WithTimeout(context.Background(), relayTimeout)
	defer cancel()
	var targets []string
	for _, p := range m.settings.webhookPeers {
		addrs, err := lookupHost(ctx, p.host)
		if err != nil {
			m.shared.logRelay("webhook relay: cannot resolve peer %s: %v", p.host, err)
			continue
		}
		for _, a := range addrs {
			if len(targets) < maxRelayPeers {
				targets = append(targets, p.scheme+"://"+net.JoinHostPort(a, p.port))
			}
		}
	}
	if len(targets) == 0 {
		return 0, 0
	}
	// One transport per delivery (deliveries are rare): TLS peers are
	// checked against the host Authgear delivered to, which is what their
	// certificate names.
	serverName := req.Host
	if h, _, err := net.SplitHostPort(req.Host); err == nil {
		serverName = h
	}
	tr := &http.Transport{TLSClientConfig: &tls.Config{MinVersion: tls.VersionTLS12, ServerName: serverName}, DisableKeepAlives: true}
	defer tr.CloseIdleConnections()
	// Each relay in a goroutine that takes its target from a channel and
	// reports on another: no loop variable reaches a goroutine (Yaegi's
	// closures and go statements in loops may see the last value), and the
	// waits are plain receives.
	jobs := make(chan string, len(targets))
	for _, target := range targets {
		jobs <- target
	}
	close(jobs)
	oks := make(chan bool, len(targets))
	for n := 0; n < len(targets); n++ {
		go relayNext(m, tr, ctx, req, body, jobs, oks)
	}
	ok := 0
	for n := 0; n < len(targets); n++ {
		if <-oks {
			ok++
		}
	}
	tried := len(targets)
	return ok, tried
}

// relayNext relays the delivery to the next target of jobs and reports on oks.
func relayNext(m *Middleware, tr *http.Transport, ctx context.Context, in *http.Request, body []byte, jobs <-chan string, oks chan<- bool) {
	target := <-jobs
	oks <- relayOne(m, tr, ctx, target, in, body)
}

// relayOne sends the delivery to one address (POST, the same path, body,
// signature and Host, plus relayHeader) and reports whether it was taken.
func relayOne(m *Middleware, tr *http.Transport, ctx context.Context, target string, in *http.Request, body []byte) bool {
	u := target + (&url.URL{Path: in.URL.Path}).EscapedPath()
	out, err := http.NewRequestWithContext(ctx, http.MethodPost, u, bytes.NewReader(body))
	if err != nil {
		m.shared.logRelay("webhook relay to %s failed: %v", target, err)
		return false
	}
	out.Host = in.Host
	out.Header.Set("Content-Type", "application/json")
	out.Header.Set("X-Authgear-Body-Signature", in.Header.Get("X-Authgear-Body-Signature"))
	out.Header.Set(relayHeader, "1")
	resp, err := tr.RoundTrip(out)
	if err != nil {
		m.shared.logRelay("webhook relay to %s failed: %v", target, err)
		return false
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		m.shared.logRelay("webhook relay to %s answered %s", target, resp.Status)
		return false
	}
	return true
}
