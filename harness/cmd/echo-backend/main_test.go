package main

import (
	"bufio"
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
)

// TestRun serves /small on the address of the listening line until the
// context ends, and refuses bad flags.
func TestRun(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() { done <- run(ctx, []string{"-addr", "127.0.0.1:0"}, pw, io.Discard); pw.Close() }()
	line, _ := bufio.NewReader(pr).ReadString('\n')
	base, _ := strings.CutPrefix(strings.TrimSpace(line), "echo-backend listening on ")
	resp, err := http.Get(base + "/small")
	if err != nil {
		t.Fatalf("listening line %q: %v", line, err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if cancel(); string(body) != "ok" || <-done != nil {
		t.Errorf("/small = %q; run did not return nil after cancel", body)
	}
	for _, args := range [][]string{{"-addr", "256.0.0.1:99999"}, {"extra"}, {"-nope"}} {
		if err := run(context.Background(), args, io.Discard, io.Discard); err == nil {
			t.Errorf("run %q: want an error", args)
		}
	}
}
