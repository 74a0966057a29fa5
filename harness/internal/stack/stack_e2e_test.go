//go:build e2e

package stack

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
)

// TestStackServesThroughThePlugin starts the default stack (a shared
// stand-in, a middleware with a stand-in of its own, the plain route) and
// checks what the backend and each resolver see.
func TestStackServesThroughThePlugin(t *testing.T) {
	s, err := Start(context.Background(), Options{Middlewares: []Middleware{
		{Name: "shared", Options: map[string]any{"requireSession": true}},
		{Name: "own", OwnResolver: true, Options: map[string]any{"requireSession": true, "cacheTTL": "0"}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Stop()
	for _, tc := range []struct {
		path     string
		status   int
		resolver *Resolver
	}{
		{"/shared/x", http.StatusUnauthorized, s.Resolver},
		{"/own/x", http.StatusUnauthorized, s.Resolvers["own"]},
		{PlainRoute + "x", http.StatusOK, nil},
	} {
		before := s.Backend.Hits.Load()
		req, _ := http.NewRequest(http.MethodGet, s.URL(tc.path), nil)
		req.Header.Set("Authorization", "Bearer nobody")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != tc.status {
			t.Errorf("%s: status %d, want %d: %s", tc.path, resp.StatusCode, tc.status, body)
		}
		if reached := s.Backend.Hits.Load() - before; (reached == 1) != (tc.status == http.StatusOK) {
			t.Errorf("%s: backend reached %d times", tc.path, reached)
		}
		if tc.resolver != nil && tc.resolver.Calls() == 0 {
			t.Errorf("%s: its resolver was not called", tc.path)
		}
	}
	if !strings.Contains(s.Dynamic(nil, []Route{{Prefix: "/a/"}}), "PathPrefix(`/a/`)") {
		t.Error("Dynamic does not render a route's prefix")
	}
}
