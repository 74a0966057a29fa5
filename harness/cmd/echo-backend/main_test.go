package main

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/traefik-authgear/traefik-authgear/harness/internal/echo"
	"github.com/traefik-authgear/traefik-authgear/harness/internal/serve"
)

// TestRun serves /small on the address of the listening line until the
// test ends, and refuses bad flags.
func TestRun(t *testing.T) {
	resp, err := http.Get(serve.Start(t, "echo-backend", run, "-addr", "127.0.0.1:0") + "/small")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(body) != "ok" {
		t.Errorf("/small = %q", body)
	}
	for _, args := range [][]string{{"-addr", "256.0.0.1:99999"}, {"extra"}, {"-nope"}, {"-jwks-url", "http://127.0.0.1:1/jwks"}} {
		if err := run(context.Background(), args, io.Discard, io.Discard); err == nil {
			t.Errorf("run %q: want an error", args)
		}
	}
}

// TestRunVerifying: with -jwks-url and -audience the JSON echo says what it
// made of the assertion (here: none); without, it says nothing of it.
func TestRunVerifying(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string // X-Echo-Assertion's start
	}{
		{[]string{"-addr", "127.0.0.1:0", "-jwks-url", "http://127.0.0.1:1/jwks", "-audience", "api"}, "absent: "},
		{[]string{"-addr", "127.0.0.1:0"}, ""},
	} {
		resp, err := http.Get(serve.Start(t, "echo-backend", run, tc.args...) + "/x")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if got := resp.Header.Get(echo.HeaderAssertion); !strings.HasPrefix(got, tc.want) || (tc.want == "") != (got == "") {
			t.Errorf("%q: %s %q, want %q...", tc.args, echo.HeaderAssertion, got, tc.want)
		}
	}
}
