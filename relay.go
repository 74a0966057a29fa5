package authgear

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
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
// nothing: the signature, the timestamp and the id are still checked.
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
// entries, comma-separated or as a list. An error names the entry by its
// position and quotes it redacted (see redactPeerEntry).
func parsePeers(values []string) ([]peer, error) {
	var peers []peer
	for position, entry := range splitList(values) {
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
			return nil, fmt.Errorf("webhookPeers entry %d (%q) must be host:port or http(s)://host:port, without user information, path or query, e.g. traefik-peers.traefik.svc.cluster.local:8000", position+1, redactPeerEntry(entry))
		}
		peers = append(peers, peer{scheme: scheme, host: host, port: port})
	}
	return peers, nil
}

// redactPeerEntry is a webhookPeers entry as an error may quote it: a URL
// copied from elsewhere may carry a password or a token, so the user
// information (up to the last @) and any query or fragment become "***".
// The scheme is kept only when it is http or https: anything else before
// "://" may be part of a password.
func redactPeerEntry(entry string) string {
	prefix := ""
	rest := entry
	if i := strings.Index(entry, "://"); i >= 0 && (strings.EqualFold(entry[:i], "http") || strings.EqualFold(entry[:i], "https")) {
		prefix = entry[:i+3]
		rest = entry[i+3:]
	}
	if i := strings.LastIndex(rest, "@"); i >= 0 {
		rest = "***@" + rest[i+1:]
	}
	if i := strings.IndexAny(rest, "?#"); i >= 0 {
		rest = rest[:i] + "***"
	}
	return prefix + rest
}

// lookupHost resolves a peer's host at delivery time; tests replace it.
var lookupHost = net.DefaultResolver.LookupHost

// relayTLSRoots are the certificate authorities an https:// peer is checked
// against: nil for the system's; tests set their own.
var relayTLSRoots *x509.CertPool

// relayTarget is one address a delivery is relayed to.
type relayTarget struct {
	addr string          // scheme://ip:port
	host string          // the peer's host:port, sent as Host
	tr   *http.Transport // the peer's: its TLS checks the peer's host name
}

// relayDelivery relays a verified delivery to every address of every peer,
// concurrently, each within relayTimeout, and returns once all are done:
// the number of addresses reached and tried. Failures are logged with the
// peer's address, never with the body.
func relayDelivery(m *Middleware, req *http.Request, body []byte) (int, int) {
	ctx, cancel := context.WithTimeout(context.Background(), relayTimeout)
	defer cancel()
	targets := relayTargets(m, ctx)
	if len(targets) == 0 {
		return 0, 0
	}
	// Each relay in a goroutine that takes its target from a channel and
	// reports on another: no loop variable reaches a goroutine (Yaegi's
	// closures and go statements in loops may see the last value), and the
	// waits are plain receives.
	jobs := make(chan *relayTarget, len(targets))
	for _, target := range targets {
		jobs <- target
	}
	close(jobs)
	oks := make(chan bool, len(targets))
	for n := 0; n < len(targets); n++ {
		go relayNext(m, ctx, req, body, jobs, oks)
	}
	ok := 0
	for n := 0; n < len(targets); n++ {
		if <-oks {
			ok++
		}
	}
	for _, target := range targets {
		target.tr.CloseIdleConnections()
	}
	tried := len(targets)
	return ok, tried
}

// relayTargets resolves every peer's host and returns its addresses, at
// most maxRelayPeers in all. The Host and TLS name of a relay are the
// peer's as configured, never the delivery's Host, which its sender chose.
func relayTargets(m *Middleware, ctx context.Context) []*relayTarget {
	var targets []*relayTarget
	for _, p := range m.settings.webhookPeers {
		addrs, err := lookupHost(ctx, p.host)
		if err != nil {
			m.shared.logRelay("webhook relay: cannot resolve peer %s: %v", p.host, err)
			continue
		}
		tr := peerTransport(p)
		host := net.JoinHostPort(p.host, p.port)
		for _, a := range addrs {
			if len(targets) < maxRelayPeers {
				targets = append(targets, &relayTarget{addr: p.scheme + "://" + net.JoinHostPort(a, p.port), host: host, tr: tr})
			}
		}
	}
	return targets
}

// peerTransport makes the transport of one peer for one delivery
// (deliveries are rare): an https:// peer's certificate must name the
// peer's host.
func peerTransport(p peer) *http.Transport {
	return &http.Transport{
		TLSClientConfig:   &tls.Config{MinVersion: tls.VersionTLS12, ServerName: p.host, RootCAs: relayTLSRoots},
		DisableKeepAlives: true,
	}
}

// relayNext relays the delivery to the next target of jobs and reports on oks.
func relayNext(m *Middleware, ctx context.Context, in *http.Request, body []byte, jobs <-chan *relayTarget, oks chan<- bool) {
	target := <-jobs
	oks <- relayOne(m, ctx, target, in, body)
}

// relayOne sends the delivery to one address (POST, the same path, body and
// signature, the peer's Host, plus relayHeader) and reports whether it was
// taken.
func relayOne(m *Middleware, ctx context.Context, target *relayTarget, in *http.Request, body []byte) bool {
	u := target.addr + (&url.URL{Path: in.URL.Path}).EscapedPath()
	out, err := http.NewRequestWithContext(ctx, http.MethodPost, u, bytes.NewReader(body))
	if err != nil {
		m.shared.logRelay("webhook relay to %s failed: %v", target.addr, err)
		return false
	}
	out.Host = target.host
	out.Header.Set("Content-Type", "application/json")
	out.Header.Set("X-Authgear-Body-Signature", in.Header.Get("X-Authgear-Body-Signature"))
	out.Header.Set(relayHeader, "1")
	resp, err := target.tr.RoundTrip(out)
	if err != nil {
		m.shared.logRelay("webhook relay to %s failed: %v", target.addr, err)
		return false
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		m.shared.logRelay("webhook relay to %s answered %s", target.addr, resp.Status)
		return false
	}
	return true
}
