package authgear

import (
	"crypto/ecdsa"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"math"
	"net"
	"net/url"
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
	resolverURL          string
	resolverHost         string
	resolverScheme       string // the Authgear origin's scheme, "" for a bare resolverHost
	timeout              time.Duration
	cacheTTL             time.Duration
	cacheMaxEntries      int
	cookies              cookieNames
	staleIfError         time.Duration
	staleWhileRevalidate time.Duration
	anonymousOnError     bool
	policy               policy
	loginURL             string
	forwardCookies       bool
	tlsConfig            *tls.Config
	webhookPath          string
	webhookSecret        []byte
	webhookPeers         []peer
	metricsPath          string
	metricsAllowed       []*net.IPNet
	assertion            *assertionSettings // nil without jwtAssertion
	previousKeys         []*ecdsa.PublicKey // published at jwksPath, not used to sign
	jwksPath             string

	// key identifies these settings: a reload with the same key keeps the
	// middleware's instance (its metrics).
	key string
	// appKey identifies the Authgear app and how it is cached: the
	// resolver-side settings. Middlewares with the same appKey share one
	// cache, single-flight and resolver client, whatever their policies.
	appKey string
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
	errs := unknownOptionErrors("", c.UnknownOptions, knownOptions)
	errs = append(errs, unknownOptionErrors("tls.", c.TLS.UnknownOptions, knownTLSOptions)...)

	u, err := url.Parse(strings.TrimSpace(c.ResolverURL))
	switch {
	case strings.TrimSpace(c.ResolverURL) == "":
		errs = append(errs, errors.New("resolverURL is required: the absolute URL of Authgear's resolve endpoint, e.g. https://myapp.authgear.cloud/_resolver/resolve"))
	case err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "":
		errs = append(errs, urlOptionError("resolverURL", c.ResolverURL, "must be an absolute http:// or https:// URL, e.g. https://myapp.authgear.cloud/_resolver/resolve"))
	case len(u.Path) > 1 && strings.HasSuffix(u.Path, "/"):
		errs = append(errs, urlOptionError("resolverURL", c.ResolverURL, "must not end with a slash: Authgear answers /_resolver/resolve/ with a redirect"))
	case u.User != nil || u.Fragment != "":
		errs = append(errs, urlOptionError("resolverURL", c.ResolverURL, "must not contain user information or a fragment"))
	default:
		s.resolverURL = u.String()
		s.resolverHost = u.Host
		s.resolverScheme = u.Scheme
	}

	if h := strings.TrimSpace(c.ResolverHost); h != "" {
		host, scheme, err := parseResolverHost(h)
		if err != nil {
			errs = append(errs, err)
		} else {
			s.resolverHost = host
			s.resolverScheme = scheme
		}
	}

	s.timeout, err = parseDuration("timeout", c.Timeout, maxTimeout)
	if err == nil && s.timeout <= 0 {
		err = fmt.Errorf("timeout %q must be greater than 0", c.Timeout)
	}
	errs = appendErr(errs, err)
	s.cacheTTL, err = parseDuration("cacheTTL", c.CacheTTL, maxCacheDuration)
	errs = appendErr(errs, err)
	s.staleIfError, err = parseDuration("staleIfError", c.StaleIfError, maxCacheDuration)
	errs = appendErr(errs, err)
	s.staleWhileRevalidate, err = parseDuration("staleWhileRevalidate", c.StaleWhileRevalidate, maxCacheDuration)
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

	policyErrs := []error(nil)
	s.policy, policyErrs = parsePolicy(c)
	errs = append(errs, policyErrs...)
	s.forwardCookies = c.ForwardResolverCookies

	if l := strings.TrimSpace(c.LoginURL); l != "" {
		errs = appendErr(errs, checkLoginURL(l))
		s.loginURL = l
	}

	s.tlsConfig, err = parseTLS(c.TLS)
	errs = appendErr(errs, err)

	secret, err := readWebhookSecret(c)
	errs = appendErr(errs, err)
	if p := strings.TrimSpace(c.WebhookPath); p != "" {
		if !strings.HasPrefix(p, "/") {
			errs = append(errs, fmt.Errorf("webhookPath %q must be a path starting with /", c.WebhookPath))
		}
		if secret == "" && err == nil {
			errs = append(errs, errors.New("webhookSecret (or webhookSecretFile) is required with webhookPath: the webhook signature secret from Authgear's portal"))
		}
		s.webhookPath = p
		s.webhookSecret = []byte(secret)
	}

	if p := strings.TrimSpace(c.MetricsPath); p != "" {
		if !strings.HasPrefix(p, "/") {
			errs = append(errs, fmt.Errorf("metricsPath %q must be a path starting with /", c.MetricsPath))
		} else if p == s.webhookPath {
			errs = append(errs, fmt.Errorf("metricsPath %q is also the webhookPath", c.MetricsPath))
		}
		s.metricsPath = p
	}
	s.metricsAllowed, err = parseAllowedIPs(c.MetricsAllowedIPs)
	errs = appendErr(errs, err)

	assertionErrs := []error(nil)
	s.assertion, s.previousKeys, assertionErrs = parseAssertion(c)
	errs = append(errs, assertionErrs...)
	if p := strings.TrimSpace(c.JWKSPath); p != "" {
		if !strings.HasPrefix(p, "/") {
			errs = append(errs, fmt.Errorf("jwksPath %q must be a path starting with /, e.g. /.well-known/authgear-jwks.json", c.JWKSPath))
		} else if p == s.webhookPath || p == s.metricsPath {
			errs = append(errs, fmt.Errorf("jwksPath %q is also the webhookPath or the metricsPath", c.JWKSPath))
		}
		s.jwksPath = p
	}

	s.webhookPeers, err = parsePeers(c.WebhookPeers)
	errs = appendErr(errs, err)
	if len(s.webhookPeers) > 0 && s.webhookPath == "" {
		errs = append(errs, errors.New("webhookPeers needs webhookPath: only the deliveries the middleware receives are relayed"))
	}

	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}

	s.appKey = strings.Join([]string{
		s.resolverURL, s.resolverHost, s.resolverScheme, s.timeout.String(), s.cacheTTL.String(),
		strconv.Itoa(s.cacheMaxEntries), prefix, s.staleIfError.String(), s.staleWhileRevalidate.String(),
		c.TLS.CA, strconv.FormatBool(c.TLS.InsecureSkipVerify),
	}, "\x00")
	p := &s.policy
	s.key = strings.Join([]string{
		s.appKey, strconv.FormatBool(s.anonymousOnError), strconv.FormatBool(p.requireSession),
		strconv.FormatBool(p.rejectAnonymous), strconv.FormatBool(p.requireVerified),
		strings.Join(p.allowedRoles, ","), strings.Join(p.requireAMR, " "), strconv.FormatInt(p.maxAuthAge, 10),
		s.loginURL, strconv.FormatBool(s.forwardCookies), s.assertion.identity(), s.jwksPath, previousKids(s.previousKeys),
	}, "\x00")
	return s, nil
}

// parsePolicy reads the access policy's options. Every rule implies
// requireSession. A list given with no item in it (",", " ") is refused
// rather than read as "no rule": a role check silently turned off is worse
// than a middleware that fails to load.
func parsePolicy(c *Config) (policy, []error) {
	var errs []error
	p := policy{rejectAnonymous: c.RejectAnonymousUsers, requireVerified: c.RequireVerified}
	p.allowedRoles = splitList(c.AllowedRoles)
	if len(p.allowedRoles) == 0 && len(c.AllowedRoles) > 0 {
		errs = append(errs, errors.New("allowedRoles has no role in it: give role keys, e.g. [admin, editor], or leave it out"))
	}
	p.requireAMR = splitList(c.RequireAMR)
	if len(p.requireAMR) == 0 && len(c.RequireAMR) > 0 {
		errs = append(errs, errors.New("requireAMR has no authentication method in it: give AMR values, e.g. [mfa, otp], or leave it out"))
	}
	for _, amr := range p.requireAMR {
		if strings.ContainsAny(amr, " \t\"\\") {
			errs = append(errs, fmt.Errorf("requireAMR item %q must be one AMR value, e.g. mfa, otp, pwd", amr))
			break
		}
	}
	if strings.TrimSpace(c.MaxAuthAge) != "" {
		age, err := parseDuration("maxAuthAge", c.MaxAuthAge, maxAuthAgeLimit)
		if err == nil && age < time.Second {
			err = fmt.Errorf("maxAuthAge %q must be at least 1s: it is how long ago the user may have signed in, e.g. \"5m\"", c.MaxAuthAge)
		}
		errs = appendErr(errs, err)
		p.maxAuthAge = int64(age.Truncate(time.Second)) // sign-in times are whole seconds
	}
	p.requireSession = c.RequireSession || p.requireVerified ||
		len(p.allowedRoles) > 0 || len(p.requireAMR) > 0 || p.maxAuthAge > 0
	return p, errs
}

func appendErr(errs []error, err error) []error {
	if err != nil {
		return append(errs, err)
	}
	return errs
}

// Upper bounds of the durations: past them a value is a mistake (and
// "2500000h" would overflow the cache's arithmetic).
const (
	maxTimeout       = 5 * time.Minute
	maxCacheDuration = 24 * time.Hour
)

// parseResolverHost reads resolverHost: the Authgear app's public origin
// ("https://auth.example.com", the recommended form: its scheme is then
// always sent as X-Forwarded-Proto) or a bare host ("auth.example.com").
func parseResolverHost(value string) (string, string, error) {
	bad := urlOptionError("resolverHost", value, "must be the Authgear app's public origin, e.g. https://auth.example.com, or its host, e.g. auth.example.com, without user information, path, query or fragment")
	if !strings.Contains(value, "://") {
		if strings.ContainsAny(value, "/ ?#@\\") {
			return "", "", bad
		}
		return value, "", nil
	}
	u, perr := url.Parse(value)
	if perr != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil ||
		(u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" {
		return "", "", bad
	}
	return u.Host, u.Scheme, nil
}

// checkLoginURL accepts an absolute http(s) URL or a path on the same host.
// A backslash is refused anywhere: browsers read "/\\evil.example" as
// "//evil.example", another host.
func checkLoginURL(l string) error {
	lu, err := url.Parse(l)
	switch {
	case err != nil || strings.ContainsAny(l, "\\\r\n\t") || strings.ContainsRune(l, 0):
	case lu.IsAbs() && (lu.Scheme == "http" || lu.Scheme == "https") && lu.Host != "":
		return nil
	case !lu.IsAbs() && strings.HasPrefix(l, "/") && !strings.HasPrefix(l, "//"):
		return nil
	}
	return urlOptionError("loginURL", l, "must be an absolute http(s) URL or a path starting with a single /, without backslashes")
}

// urlOptionError is the error of a URL-like option whose value breaks rule.
// Traefik logs it at ERROR, so it shows no more of the value than
// redactedURL allows: a refused URL is often refused precisely because it
// carries a password or a token.
func urlOptionError(option, value, rule string) error {
	shown := redactedURL(value)
	switch {
	case shown == "":
		return fmt.Errorf("%s (value not shown: it does not parse as a URL or may hold credentials) %s", option, rule)
	case shown != strings.TrimSpace(value):
		return fmt.Errorf("%s %q (shown without its user information, query and fragment) %s", option, shown, rule)
	}
	return fmt.Errorf("%s %q %s", option, shown, rule)
}

// redactedURL is what an error message may show of a URL-like value: its
// scheme, host and path, never its user information, query or fragment; ""
// (nothing) for a value that does not parse (url.Parse's error, too, would
// repeat it whole), that is opaque ("scheme:anything"), or that contains an
// '@' anywhere: a password holding '/', '?' or '#' ends the authority early
// and its remainder would pass for host or path.
func redactedURL(value string) string {
	v := strings.TrimSpace(value)
	if strings.Contains(v, "@") {
		return ""
	}
	u, err := url.Parse(v)
	if err != nil || u.Opaque != "" {
		return ""
	}
	shown := u.Path // unescaped: a refused backslash shows as one, not as %5C
	if u.Host != "" {
		shown = "//" + u.Host + shown
	}
	if u.Scheme != "" {
		shown = u.Scheme + ":" + shown
	}
	return shown
}

// readWebhookSecret returns the secret from webhookSecret, or read from
// webhookSecretFile (white space around it ignored; a regular file of at
// most maxSecretFileSize, see readConfigFile).
func readWebhookSecret(c *Config) (string, error) {
	file := strings.TrimSpace(c.WebhookSecretFile)
	if file == "" {
		return c.WebhookSecret, nil
	}
	if c.WebhookSecret != "" {
		return "", errors.New("webhookSecret and webhookSecretFile are both set: give one")
	}
	data, err := readConfigFile("webhookSecretFile", file, maxSecretFileSize)
	if err != nil {
		return "", fmt.Errorf("%w holding the webhook signature secret", err)
	}
	secret := strings.TrimSpace(string(data))
	if secret == "" {
		return "", errors.New("webhookSecretFile: the file is empty: it must hold the webhook signature secret from Authgear's portal")
	}
	return secret, nil
}

// parseDuration accepts Go durations ("90s", "5m", "1h30m") and bare numbers
// of seconds ("30", "0.5") up to limit: Traefik has no duration decoding and
// Docker labels deliver every value as a string.
func parseDuration(option, value string, limit time.Duration) (time.Duration, error) {
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
		if math.IsNaN(seconds) || seconds > limit.Seconds() { // NaN, or past the bound
			return 0, fmt.Errorf("%s %q is too long: at most %s", option, value, limit)
		}
		d = time.Duration(seconds * float64(time.Second))
	}
	if d < 0 {
		return 0, fmt.Errorf("%s %q must not be negative", option, value)
	}
	if d > limit {
		return 0, fmt.Errorf("%s %q is too long: at most %s", option, value, limit)
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

// parseTLS builds the resolver client's TLS configuration. tls.ca is
// inline PEM or the path of a regular file of at most maxCAFileSize (see
// readConfigFile).
func parseTLS(c TLSConfig) (*tls.Config, error) {
	cfg := &tls.Config{MinVersion: tls.VersionTLS12, InsecureSkipVerify: c.InsecureSkipVerify}
	ca := strings.TrimSpace(c.CA)
	if ca == "" {
		return cfg, nil
	}
	pem := []byte(ca)
	if !strings.HasPrefix(ca, "-----BEGIN") {
		data, err := readConfigFile("tls.ca", ca, maxCAFileSize)
		if err != nil {
			return nil, fmt.Errorf("%w holding PEM certificates, or the PEM text itself", err)
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

// assertionSettings are the validated jwtAssertion options.
type assertionSettings struct {
	key      *ecdsa.PrivateKey
	issuer   string
	audience string // "" for the middleware's name
	lifetime time.Duration
}

// identity is what makes two assertion settings sign alike, for the
// settings' key ("" without jwtAssertion).
func (a *assertionSettings) identity() string {
	if a == nil {
		return ""
	}
	return thumbprint(&a.key.PublicKey) + "\x00" + a.issuer + "\x00" + a.audience + "\x00" + a.lifetime.String()
}

// previousKids joins the kids of the previous keys.
func previousKids(keys []*ecdsa.PublicKey) string {
	kids := make([]string, 0, len(keys))
	for _, k := range keys {
		kids = append(kids, thumbprint(k))
	}
	return strings.Join(kids, ",")
}

// parseAssertion reads the jwtAssertion options: the key (a file, inline
// PEM, or the process's generated one), the issuer, audience and lifetime,
// and the previous keys to publish.
func parseAssertion(c *Config) (*assertionSettings, []*ecdsa.PublicKey, []error) {
	var errs []error
	var previous []*ecdsa.PublicKey
	for i, entry := range c.JWTAssertionPreviousKeys {
		if strings.TrimSpace(entry) == "" {
			continue
		}
		option := "jwtAssertionPreviousKeys entry " + strconv.Itoa(i+1)
		data, err := readKeyPEM(option, entry)
		if err == nil {
			var pub *ecdsa.PublicKey
			pub, err = parsePublicKey(option, data)
			previous = append(previous, pub)
		}
		errs = appendErr(errs, err)
	}
	file := strings.TrimSpace(c.JWTAssertionKeyFile)
	inline := strings.TrimSpace(c.JWTAssertionKey)
	if !c.JWTAssertion {
		if file != "" || inline != "" {
			errs = append(errs, errors.New("jwtAssertionKeyFile and jwtAssertionKey need jwtAssertion: true"))
		}
		return nil, previous, errs
	}
	a := &assertionSettings{issuer: strings.TrimSpace(c.JWTAssertionIssuer), audience: strings.TrimSpace(c.JWTAssertionAudience)}
	if a.issuer == "" {
		a.issuer = "traefik-authgear"
	}
	lifetime, err := parseDuration("jwtAssertionLifetime", c.JWTAssertionLifetime, maxAssertionLifetime)
	if err == nil && lifetime < minAssertionLifetime {
		err = fmt.Errorf("jwtAssertionLifetime %q must be at least %s", c.JWTAssertionLifetime, minAssertionLifetime)
	}
	errs = appendErr(errs, err)
	a.lifetime = lifetime
	var key *ecdsa.PrivateKey
	switch {
	case file != "" && inline != "":
		err = errors.New("jwtAssertionKeyFile and jwtAssertionKey are both set: give one")
	case file != "":
		var data []byte
		data, err = readConfigFile("jwtAssertionKeyFile", file, maxKeyFileSize)
		if err != nil {
			err = fmt.Errorf("%w holding a PEM P-256 private key", err)
		} else {
			key, err = parsePrivateKey("jwtAssertionKeyFile", data)
		}
	case inline != "":
		key, err = parsePrivateKey("jwtAssertionKey", []byte(inline))
	default:
		key, err = processKey()
	}
	errs = appendErr(errs, err)
	if key == nil {
		return nil, previous, errs
	}
	a.key = key
	return a, previous, errs
}
