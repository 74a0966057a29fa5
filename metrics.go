package authgear

import (
	"fmt"
	"net"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

// metrics counts what one middleware (one instance) did. Traefik does not
// export a plugin's metrics (traefik/traefik#8685), so the plugin serves
// them itself at metricsPath, in Prometheus' text format. Every counter is a
// plain atomic; the cache counts the hits and revalidations itself, under
// the lock the hit path holds anyway (an Add costs a hit several
// allocations under Yaegi).
type metrics struct {
	// Requests by outcome.
	misses, anonymous                   atomic.Int64
	unauthorized, forbidden, redirected atomic.Int64
	staleServed                         atomic.Int64
	failedTimeout, failedOther          atomic.Int64               // answered 504 / 502
	failedAnonymous                     atomic.Int64               // passed on without identity (onResolverError: anonymous)
	credentialsTooLarge                 atomic.Int64               // answered 431 without a resolver call (maxCredentialBytes)
	refused                             [verdictCount]atomic.Int64 // by reason (refusal.go)

	// Resolver calls by result, and their latency.
	callsOK, callsTimeout, callsTransport atomic.Int64
	callsStatus, callsCancelled           atomic.Int64
	latency                               [latencyBucketCount + 1]atomic.Int64
	latencySum                            atomic.Int64 // nanoseconds

	// Evictions by cause (capacity is the cache's own count).
	evictedByWebhook atomic.Int64

	// Webhook deliveries and relays by result.
	deliveriesOK, deliveriesRefused, deliveriesInvalid atomic.Int64
	relaysOK, relaysFailed                             atomic.Int64

	// Verified deliveries not acted on in full (see admission): replays
	// within the window, late ones, and new ones the id memory was too full
	// to remember.
	deliveriesDuplicate, deliveriesLate, deliveriesUnremembered atomic.Int64
}

// latencyBucketCount is the number of latencyBuckets.
const latencyBucketCount = 11

// latencyBuckets are the resolver call latency histogram's upper bounds.
var latencyBuckets = [latencyBucketCount]time.Duration{
	5 * time.Millisecond, 10 * time.Millisecond, 25 * time.Millisecond, 50 * time.Millisecond,
	100 * time.Millisecond, 250 * time.Millisecond, 500 * time.Millisecond,
	time.Second, 2500 * time.Millisecond, 5 * time.Second, 10 * time.Second,
}

// observeCall counts one resolver call's result and latency.
func (mt *metrics) observeCall(r *callResult, took time.Duration) {
	switch {
	case r.err == nil:
		mt.callsOK.Add(1)
	case r.status != 0:
		mt.callsStatus.Add(1)
	case isCancelled(r.err):
		mt.callsCancelled.Add(1)
	case failureStatus(0, r.err) == http.StatusGatewayTimeout:
		mt.callsTimeout.Add(1)
	default:
		mt.callsTransport.Add(1)
	}
	i := 0
	for i < latencyBucketCount && took > latencyBuckets[i] {
		i++
	}
	mt.latency[i].Add(1)
	mt.latencySum.Add(int64(took))
}

// defaultMetricsAllowed are the networks metricsPath answers by default:
// loopback only.
var defaultMetricsAllowed = []string{"127.0.0.0/8", "::1/128"}

// parseAllowedIPs reads metricsAllowedIPs: CIDRs or single addresses.
func parseAllowedIPs(values []string) ([]*net.IPNet, error) {
	items := splitList(values)
	if len(items) == 0 {
		items = defaultMetricsAllowed
	}
	var nets []*net.IPNet
	for _, item := range items {
		if !strings.Contains(item, "/") {
			ip := net.ParseIP(item)
			if ip == nil {
				return nil, fmt.Errorf("metricsAllowedIPs entry %q is not an IP address or CIDR, e.g. 10.0.0.0/8", item)
			}
			bits := 8 * len(ip.To16())
			if ip.To4() != nil {
				ip = ip.To4()
				bits = 32
			}
			item = ip.String() + "/" + strconv.Itoa(bits)
		}
		_, n, err := net.ParseCIDR(item)
		if err != nil {
			return nil, fmt.Errorf("metricsAllowedIPs entry %q is not an IP address or CIDR, e.g. 10.0.0.0/8", item)
		}
		nets = append(nets, n)
	}
	return nets, nil
}

// serveMetrics answers metricsPath: the metrics of every middleware of the
// plugin in this Traefik, to the allowed addresses only.
func serveMetrics(m *Middleware, rw http.ResponseWriter, req *http.Request) {
	host, _, err := net.SplitHostPort(req.RemoteAddr)
	ip := net.ParseIP(host)
	allowed := false
	for _, n := range m.settings.metricsAllowed {
		if err == nil && ip != nil && n.Contains(ip) {
			allowed = true
		}
	}
	if !allowed {
		writeText(rw, http.StatusForbidden, "forbidden: metrics are served to metricsAllowedIPs only")
		return
	}
	if req.Method != http.MethodGet && req.Method != http.MethodHead {
		rw.Header().Set("Allow", "GET, HEAD")
		writeText(rw, http.StatusMethodNotAllowed, "method not allowed")
		return
	}
	rw.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
	rw.Header().Set("Cache-Control", "no-store")
	_, _ = rw.Write([]byte(exposition(registeredInstances())))
}

// registeredInstances returns the registry's instances by name.
func registeredInstances() []*instance {
	registryMu.Lock()
	defer registryMu.Unlock()
	out := make([]*instance, 0, len(registry))
	for _, in := range registry {
		out = append(out, in)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].name < out[j].name })
	return out
}

// exposition writes the metrics of the instances in Prometheus' text format.
func exposition(instances []*instance) string {
	var b strings.Builder
	family := func(name, kind, help string) {
		fmt.Fprintf(&b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, kind)
	}
	sample := func(name string, in *instance, label, value string, v int64) {
		fmt.Fprintf(&b, "%s{middleware=%q", name, in.name)
		if label != "" {
			fmt.Fprintf(&b, ",%s=%q", label, value)
		}
		fmt.Fprintf(&b, "} %d\n", v)
	}

	family("authgear_requests_total", "counter", "Requests by outcome.")
	for _, in := range instances {
		mt := in.metrics
		hits, revalidated := in.app.cache.servedBy(in.served)
		for _, o := range []struct {
			name string
			v    int64
		}{
			{"cache_hit", hits}, {"cache_miss", mt.misses.Load()},
			{"revalidated", revalidated}, {"no_credential", mt.anonymous.Load()},
			{"unauthorized", mt.unauthorized.Load()}, {"forbidden", mt.forbidden.Load()},
			{"login_redirect", mt.redirected.Load()}, {"stale_served", mt.staleServed.Load()},
			{"resolver_error_timeout", mt.failedTimeout.Load()}, {"resolver_error", mt.failedOther.Load()},
			{"resolver_error_anonymous", mt.failedAnonymous.Load()},
			{"credentials_too_large", mt.credentialsTooLarge.Load()},
		} {
			sample("authgear_requests_total", in, "outcome", o.name, o.v)
		}
	}

	family("authgear_refusals_total", "counter", "Requests the policy refused, by reason.")
	for _, in := range instances {
		for v := verdictNoSession; v < verdictCount; v++ {
			sample("authgear_refusals_total", in, "reason", refusals[v].reason, in.metrics.refused[v].Load())
		}
	}

	family("authgear_resolver_calls_total", "counter", "Resolver calls by result.")
	for _, in := range instances {
		mt := in.metrics
		for _, r := range []struct {
			name string
			v    int64
		}{
			{"ok", mt.callsOK.Load()}, {"timeout", mt.callsTimeout.Load()}, {"transport_error", mt.callsTransport.Load()},
			{"status_error", mt.callsStatus.Load()}, {"cancelled", mt.callsCancelled.Load()},
		} {
			sample("authgear_resolver_calls_total", in, "result", r.name, r.v)
		}
	}

	family("authgear_resolver_call_duration_seconds", "histogram", "Resolver call latency.")
	for _, in := range instances {
		mt := in.metrics
		var cumulative int64
		for i, bound := range latencyBuckets {
			cumulative += mt.latency[i].Load()
			fmt.Fprintf(&b, "authgear_resolver_call_duration_seconds_bucket{middleware=%q,le=%q} %d\n", in.name, strconv.FormatFloat(bound.Seconds(), 'g', -1, 64), cumulative)
		}
		cumulative += mt.latency[latencyBucketCount].Load()
		fmt.Fprintf(&b, "authgear_resolver_call_duration_seconds_bucket{middleware=%q,le=\"+Inf\"} %d\n", in.name, cumulative)
		fmt.Fprintf(&b, "authgear_resolver_call_duration_seconds_sum{middleware=%q} %s\n", in.name, strconv.FormatFloat(time.Duration(mt.latencySum.Load()).Seconds(), 'g', -1, 64))
		fmt.Fprintf(&b, "authgear_resolver_call_duration_seconds_count{middleware=%q} %d\n", in.name, cumulative)
	}

	family("authgear_cache_entries", "gauge", "Cached answers, expired ones included.")
	for _, in := range instances {
		sample("authgear_cache_entries", in, "", "", int64(in.app.cache.len()))
	}

	family("authgear_cache_evictions_total", "counter", "Cached answers removed, by cause.")
	for _, in := range instances {
		sample("authgear_cache_evictions_total", in, "cause", "capacity", in.app.cache.evictedCount())
		sample("authgear_cache_evictions_total", in, "cause", "webhook", in.metrics.evictedByWebhook.Load())
	}

	family("authgear_webhook_deliveries_total", "counter", "Webhook deliveries by result.")
	for _, in := range instances {
		mt := in.metrics
		sample("authgear_webhook_deliveries_total", in, "result", "ok", mt.deliveriesOK.Load())
		sample("authgear_webhook_deliveries_total", in, "result", "refused", mt.deliveriesRefused.Load())
		sample("authgear_webhook_deliveries_total", in, "result", "invalid", mt.deliveriesInvalid.Load())
		sample("authgear_webhook_deliveries_total", in, "result", "duplicate", mt.deliveriesDuplicate.Load())
		sample("authgear_webhook_deliveries_total", in, "result", "late", mt.deliveriesLate.Load())
		sample("authgear_webhook_deliveries_total", in, "result", "memory_full", mt.deliveriesUnremembered.Load())
	}

	family("authgear_webhook_relays_total", "counter", "Webhook relays to peers by result.")
	for _, in := range instances {
		sample("authgear_webhook_relays_total", in, "result", "ok", in.metrics.relaysOK.Load())
		sample("authgear_webhook_relays_total", in, "result", "failed", in.metrics.relaysFailed.Load())
	}
	return b.String()
}
