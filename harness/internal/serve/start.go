package serve

import (
	"bufio"
	"context"
	"io"
	"strings"
	"testing"
)

// Start runs run with args until the test ends (then run must return nil)
// and returns the base URL of the "<name> listening on" line it prints.
func Start(t testing.TB, name string, run RunFunc, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, args, pw, io.Discard)
		pw.Close()
	}()
	t.Cleanup(func() {
		if cancel(); <-done != nil {
			t.Error("run did not return nil after cancel")
		}
	})
	line, _ := bufio.NewReader(pr).ReadString('\n')
	base, ok := strings.CutPrefix(strings.TrimSpace(line), name+" listening on ")
	if !ok {
		t.Fatalf("first line %q, want the listening line", line)
	}
	return base
}
