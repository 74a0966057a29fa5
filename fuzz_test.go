package authgear

import (
	"testing"
)

// Fuzz targets for the code that decides who a request is: the cache key of
// its credentials and the removal of forged identity headers (the whole
// middleware, with the fake resolver, is FuzzServeHTTP in fuzzserve_test.go).
// `go test` runs the seeds below and the corpus in testdata/fuzz/<FuzzName>/;
// `go test -fuzz FuzzName` explores further (make stress runs each for a
// bounded time). The property checks live in fuzzcheck_test.go;
// TestFuzzSeedProperties runs them on the seeds too, so that Yaegi, which
// does not run fuzz targets, checks them interpreted.
//
// Multi-valued inputs are strings split on "\n": one element per header
// value, cookie line or header line.

// keySeed is one FuzzCredentialKey input: two requests' Authorization values
// and Cookie lines, and a cookie prefix.
type keySeed struct {
	auth1, cookie1, auth2, cookie2, prefix string
}

var keySeeds = []keySeed{
	{"Bearer alice-token", "", "Bearer bob-token", "", ""},
	{"", "session=alice-session", "", "app_session=alice-session", ""},
	{"", "app_session=x", "", "app_access_token=x", ""},
	{"", "session=a; app_session=b", "", "app_session=b; session=a", ""},
	{"", "session=a\nsession=b", "", "session=a", ""},
	{"", "session=b\nsession=a", "", "session=a", ""},
	{"Bearer a\nBearer b", "", "Bearer a", "", ""},
	{"", "", "", "theme=dark", ""},
	{"", "", "", "", ""},
	{"", "session=", "", "", ""},
	{"", `session="quoted"`, "", "session=quoted", ""},
	{"", "myapp_session=a", "", "session=a", "myapp_"},
	{"A1:x", "", "", "session=x", ""},
	{"x", "app_session=1:y", "x", "app_access_token=1:y", ""},
	{"", "Session=alice-session", "", "session=alice-session", ""},
	{"", "session=\x80\xff", "", "session=%80", ""},
	{"", "app_session=a; app_session=b", "", "app_session=b; app_session=a", ""},
}

// FuzzCredentialKey: the key is deterministic, ignores other cookies, is
// present exactly when Authgear would find a credential input, and two
// requests share a key exactly when they carry the same credential inputs
// (every Authorization value, and the first value of each credential cookie,
// which is what Authgear reads).
func FuzzCredentialKey(f *testing.F) {
	for _, s := range keySeeds {
		f.Add(s.auth1, s.cookie1, s.auth2, s.cookie2, s.prefix)
	}
	f.Fuzz(func(t *testing.T, auth1, cookie1, auth2, cookie2, prefix string) {
		checkCredentialKey(t, keySeed{auth1, cookie1, auth2, cookie2, prefix})
	})
}

// stripSeed is one FuzzStripIdentityHeaders input: header names (values are
// taken in turn from values), Connection values and declared trailer names.
type stripSeed struct {
	names, values, connection, trailers string
}

var stripSeeds = []stripSeed{
	{"X-Authgear-User-Id\nAccept", "forged\napplication/json", "", ""},
	{"x-authgear-user-id\nX_Authgear_User_Id\nX_AUTHGEAR_SESSION_VALID\nx-AuThGeAr-uSeR-rOlEs", "a\nb\nc\nd", "", ""},
	{"X-Authgear-\nX-Authgear\nX-Authgearx\nX-Authgear_", "1\n2\n3\n4", "", ""},
	{"X-A\nXa\nX-AuthgeaR-A\nY-Authgear-User-Id", "1\n2\n3\n4", "", ""},
	{"Cookie", "session=x", "keep-alive, X-Authgear-User-Id, x_authgear_roles\nUpgrade", ""},
	{"Connection", "X-Authgear-User-Id", "X-Authgear-User-Id", ""},
	{"Accept", "*/*", ",,X-Authgear-A,, close ,", ""},
	{"Accept", "*/*", "\u00a0X-Authgear-A\u00a0, authgear", ""},
	{"Te", "trailers", "te", "X-Authgear-User-Id\nX-Checksum\nx_authgear_session_valid"},
	{"X-Authgear-User-Id", "", "", "X-Authgear-User-Id"},
}

// FuzzStripIdentityHeaders: after stripping, no header or declared trailer
// whose lower-cased, "_"-as-"-" name starts with x-authgear- remains, no
// Connection token names one, and everything else is untouched.
func FuzzStripIdentityHeaders(f *testing.F) {
	for _, s := range stripSeeds {
		f.Add(s.names, s.values, s.connection, s.trailers)
	}
	f.Fuzz(func(t *testing.T, names, values, connection, trailers string) {
		checkStrip(t, stripSeed{names, values, connection, trailers})
	})
}

// TestFuzzSeedProperties runs the fuzz properties on the seeds as an
// ordinary test, for Yaegi, which runs Test functions only.
func TestFuzzSeedProperties(t *testing.T) {
	for _, s := range keySeeds {
		checkCredentialKey(t, s)
	}
	for _, s := range stripSeeds {
		checkStrip(t, s)
	}
}
