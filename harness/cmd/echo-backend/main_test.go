package main

import (
	"context"
	"io"
	"net/http"
	"testing"

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
	for _, args := range [][]string{{"-addr", "256.0.0.1:99999"}, {"extra"}, {"-nope"}} {
		if err := run(context.Background(), args, io.Discard, io.Discard); err == nil {
			t.Errorf("run %q: want an error", args)
		}
	}
}
