// Package standin is a stand-in for Authgear's resolve endpoint
// (GET /_resolver/resolve), for tests, benchmarks and the demo.
//
// It answers the way a real Authgear server does (the recorded answers are in
// testdata/*.http and the tests compare against them): always 200 with an empty
// body, the identity in X-Authgear-* headers, credentials read in Authgear's
// order (bearer token on the public host, then the app_session,
// app_access_token and session cookies), 405 for methods other than GET and
// HEAD, and a 301 for a trailing slash.
//
// Tests drive it in process through Resolver's methods, or over HTTP through
// the control endpoints under /_standin/ (call count, faults, user table).
package standin
