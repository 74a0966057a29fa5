package harness

import (
	"bytes"
	"sync"
)

// maxLogBytes bounds the Traefik output kept in memory for error messages.
const maxLogBytes = 1 << 20

// tailBuffer keeps the last maxLogBytes written to it; safe for concurrent use.
type tailBuffer struct {
	mu  sync.Mutex // protects buf
	buf bytes.Buffer
}

// Write appends p, dropping the oldest bytes beyond the bound.
func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf.Write(p)
	if over := t.buf.Len() - maxLogBytes; over > 0 {
		t.buf.Next(over)
	}
	return len(p), nil
}

// String returns what is kept.
func (t *tailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.buf.String()
}
