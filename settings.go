package authgear

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"
)

const (
	onErrorReject    = "reject"
	onErrorAnonymous = "anonymous"
)

// settings is a validated Config, in the form the request path needs.
type settings struct {
	resolverURL      string
	resolverHost     string
	timeout          time.Duration
	cacheTTL         time.Duration
	cacheMaxEntries  int
	cookies          cookieNames
	staleIfError     time.Duration
	anonymousOnError bool
	requireSession   bool
	rejectAnonymous  bool
	allowedRoles     []string
	loginURL         string
	forwardCookies   bool
	tlsConfig        *tls.Config
	webhookPath      string
	webhookSecret    []byte

	// anonymousVerdict is the policy's answer for a request without identity.
	anonymousVerdict int
	// key identifies these settings: a reload with the same key keeps the
	// shared cache and client.
	key string
}

// cookieNames are the names of Authgear's credential cookies for one
// cookie prefix.
type cookieNames struct {
	session        string
	appSession     string
	appAccessToken string
}

// parseSettings validates every option and returns an error that names the
// option and says what it accepts.
func parseSettings(c *Config) (*settings, error) {
	s := &settings{}
	var errs []error

	u, err := url.Parse(strings.TrimSpace(c.ResolverURL))
	switch {
	case strings.TrimSpace(c.ResolverURL) == "":
		errs = append(errs, errors.New("resolverURL is required: the absolute URL of Authgear's resolve endpoint, e.g. https://myapp.authgear.cloud/_resolver/resolve"))
	case err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "":
		errs = append(errs, fmt.Errorf("resolverURL %q must be an absolute http:// or https:// URL, e.g. https://myapp.authgear.cloud/_resolver/resolve", c.ResolverURL))
	case len(u.Path) > 1 && strings.HasSuffix(u.Path, "/"):
		errs = append(errs, fmt.Errorf("resolverURL %q must not end with a slash: Authgear answers /_resolver/resolve/ with a redirect", c.ResolverURL))
	case u.User != nil || u.Fragment != "":
		errs = append(errs, fmt.Errorf("resolverURL %q must not contain user information or a fragment", c.ResolverURL))
	default:
		s.resolverURL = u.String()
		s.resolverHost = u.Host
	}

	if h := strings.TrimSpace(c.ResolverHost); h != "" {
		if strings.ContainsAny(h, "/ ?#@") {
			errs = append(errs, fmt.Errorf("resolverHost %q must be a host name with an optional port, e.g. auth.example.com, without scheme or path", c.ResolverHost))
		} else {
			s.resolverHost = h
		}
	}

	s.timeout, err = parseDuration("timeout", c.Timeout)
	if err == nil && s.timeout <= 0 {
		err = fmt.Errorf("timeout %q must be greater than 0", c.Timeout)
	}
	errs = appendErr(errs, err)
	s.cacheTTL, err = parseDuration("cacheTTL", c.CacheTTL)
	errs = appendErr(errs, err)
	s.staleIfError, err = parseDuration("staleIfError", c.StaleIfError)
	errs = appendErr(errs, err)

	if c.CacheMaxEntries <= 0 {
		errs = append(errs, fmt.Errorf("cacheMaxEntries %d must be greater than 0", c.CacheMaxEntries))
	}
	s.cacheMaxEntries = c.CacheMaxEntries

	prefix := strings.TrimSpace(c.CookiePrefix)
	if strings.ContainsAny(prefix, " ;=,\"") {
		errs = append(errs, fmt.Errorf("cookiePrefix %q must not contain spaces, ';', '=', ',' or quotes", c.CookiePrefix))
	}
	s.cookies = cookieNames{session: prefix + "session", appSession: prefix + "app_session", appAccessToken: prefix + "app_access_token"}

	switch strings.ToLower(strings.TrimSpace(c.OnResolverError)) {
	case "", onErrorReject:
	case onErrorAnonymous:
		s.anonymousOnError = true
	default:
		errs = append(errs, fmt.Errorf("onResolverError %q must be %q or %q", c.OnResolverError, onErrorReject, onErrorAnonymous))
	}

	s.allowedRoles = splitList(c.AllowedRoles)
	s.requireSession = c.RequireSession || len(s.allowedRoles) > 0
	s.rejectAnonymous = c.RejectAnonymousUsers
	s.forwardCookies = c.ForwardResolverCookies

	if l := strings.TrimSpace(c.LoginURL); l != "" {
		lu, err := url.Parse(l)
		if err != nil || !(lu.IsAbs() && (lu.Scheme == "http" || lu.Scheme == "https") && lu.Host != "" || !lu.IsAbs() && strings.HasPrefix(l, "/") && !strings.HasPrefix(l, "//")) {
			errs = append(errs, fmt.Errorf("loginURL %q must be an absolute http(s) URL or a path starting with /", c.LoginURL))
		}
		s.loginURL = l
	}

	s.tlsConfig, err = parseTLS(c.TLS)
	errs = appendErr(errs, err)

	if p := strings.TrimSpace(c.WebhookPath); p != "" {
		if !strings.HasPrefix(p, "/") {
			errs = append(errs, fmt.Errorf("webhookPath %q must be a path starting with /", c.WebhookPath))
		}
		if c.WebhookSecret == "" {
			errs = append(errs, errors.New("webhookSecret is required with webhookPath: the webhook signature secret from Authgear's portal"))
		}
		s.webhookPath = p
		s.webhookSecret = []byte(c.WebhookSecret)
	}

	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}

	s.anonymousVerdict = verdictPass
	if s.requireSession {
		s.anonymousVerdict = verdictUnauthorized
	}
	s.key = strings.Join([]string{
		s.resolverURL, s.resolverHost, s.timeout.String(), s.cacheTTL.String(),
		strconv.Itoa(s.cacheMaxEntries), prefix, s.staleIfError.String(),
		strconv.FormatBool(s.anonymousOnError), strconv.FormatBool(s.requireSession),
		strconv.FormatBool(s.rejectAnonymous), strings.Join(s.allowedRoles, ","),
		c.TLS.CA, strconv.FormatBool(c.TLS.InsecureSkipVerify),
	}, "\x00")
	return s, nil
}

func appendErr(errs []error, err error) []error {
	if err != nil {
		return append(errs, err)
	}
	return errs
}

// parseDuration accepts Go durations ("90s", "5m", "1h30m") and bare numbers
// of seconds ("30", "0.5"): Traefik has no duration decoding and Docker
// labels deliver every value as a string.
func parseDuration(option, value string) (time.Duration, error) {
	v := strings.TrimSpace(value)
	if v == "" {
		return 0, fmt.Errorf("%s is empty: give a duration such as \"90s\", \"5m\" or a number of seconds", option)
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		seconds, ferr := strconv.ParseFloat(v, 64)
		if ferr != nil {
			return 0, fmt.Errorf("%s %q is not a duration: give one such as \"90s\", \"5m\" or a number of seconds", option, value)
		}
		d = time.Duration(seconds * float64(time.Second))
	}
	if d < 0 {
		return 0, fmt.Errorf("%s %q must not be negative", option, value)
	}
	return d, nil
}

// splitList accepts a YAML list, a comma-separated string, or a mix, and
// returns the trimmed, non-empty items.
func splitList(values []string) []string {
	var out []string
	for _, v := range values {
		for _, item := range strings.Split(v, ",") {
			if item = strings.TrimSpace(item); item != "" {
				out = append(out, item)
			}
		}
	}
	return out
}

// parseTLS builds the resolver client's TLS configuration.
func parseTLS(c TLSConfig) (*tls.Config, error) {
	cfg := &tls.Config{MinVersion: tls.VersionTLS12, InsecureSkipVerify: c.InsecureSkipVerify}
	ca := strings.TrimSpace(c.CA)
	if ca == "" {
		return cfg, nil
	}
	pem := []byte(ca)
	if !strings.HasPrefix(ca, "-----BEGIN") {
		data, err := os.ReadFile(ca)
		if err != nil {
			return nil, fmt.Errorf("tls.ca: cannot read the CA file: %w (give a PEM file path or the PEM text itself)", err)
		}
		pem = data
	}
	pool, err := x509.SystemCertPool()
	if err != nil || pool == nil {
		pool = x509.NewCertPool()
	}
	if !pool.AppendCertsFromPEM(pem) {
		return nil, errors.New("tls.ca: no PEM certificate found (give a PEM file path or the PEM text itself)")
	}
	cfg.RootCAs = pool
	return cfg, nil
}
