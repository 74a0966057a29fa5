package main

import (
	"context"
	"fmt"

	"github.com/traefik-authgear/traefik-authgear/harness/internal/harness"
)

// runtimeStats reads Traefik's live heap after forced GCs and its goroutine
// count (harness.ReadRuntimeStats, through harness.DebugAPI).
func (e *env) runtimeStats() (harness.RuntimeStats, error) {
	return harness.ReadRuntimeStats(context.Background(), e.Traefik.AdminAddr)
}

// statsText formats runtime figures for the report.
func statsText(r harness.RuntimeStats) string {
	return fmt.Sprintf("%s live heap, %s goroutines", mib(r.HeapAlloc), count(r.Goroutines))
}
