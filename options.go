package authgear

import (
	"fmt"
	"sort"
	"strings"
)

// knownOptions are the option names as users write them, the Config fields
// Traefik's decoder matches case-insensitively.
var knownOptions = []string{
	"resolverURL", "resolverHost", "timeout", "cacheTTL", "staleWhileRevalidate", "cacheMaxEntries",
	"cookiePrefix", "staleIfError", "onResolverError", "requireSession",
	"rejectAnonymousUsers", "allowedRoles", "requireVerified", "requireAMR", "maxAuthAge",
	"loginURL", "forwardResolverCookies",
	"tls", "webhookPath", "webhookSecret", "webhookSecretFile", "webhookPeers",
	"metricsPath", "metricsAllowedIPs",
	"jwtAssertion", "jwtAssertionLifetime", "jwtAssertionKeyFile", "jwtAssertionKey",
	"jwtAssertionPreviousKeys", "jwtAssertionAudience", "jwtAssertionIssuer", "jwksPath",
}

// knownTLSOptions are the options under tls.
var knownTLSOptions = []string{"ca", "insecureSkipVerify"}

// unknownOptionErrors returns one error per option that Traefik's decoder
// could not match to a field (it would otherwise drop them silently: a
// mistyped allowedRoles would load a middleware with no role check), naming
// the closest known option.
func unknownOptionErrors(prefix string, unknown map[string]interface{}, known []string) []error {
	names := make([]string, 0, len(unknown))
	for name := range unknown {
		names = append(names, name)
	}
	sort.Strings(names)
	var errs []error
	for _, name := range names {
		if guess := closestOption(name, known); guess != "" {
			errs = append(errs, fmt.Errorf("unknown option %q: did you mean %q?", prefix+name, prefix+guess))
		} else {
			errs = append(errs, fmt.Errorf("unknown option %q: the options are %s", prefix+name, strings.Join(known, ", ")))
		}
	}
	return errs
}

// closestOption returns the known option nearest to name (case-insensitive
// edit distance at most a third of its length, and at least 2), or "".
func closestOption(name string, known []string) string {
	best := ""
	bestDistance := len(name) / 3
	if bestDistance < 2 {
		bestDistance = 2
	}
	for _, k := range known {
		if d := editDistance(strings.ToLower(name), strings.ToLower(k)); d <= bestDistance {
			best = k
			bestDistance = d
			if d == 0 {
				break
			}
		}
	}
	return best
}

// editDistance is the Levenshtein distance between a and b (bytes).
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := 0; j <= len(b); j++ {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = prev[j] + 1
			if v := cur[j-1] + 1; v < cur[j] {
				cur[j] = v
			}
			if v := prev[j-1] + cost; v < cur[j] {
				cur[j] = v
			}
		}
		swap := prev
		prev = cur
		cur = swap
	}
	return prev[len(b)]
}
