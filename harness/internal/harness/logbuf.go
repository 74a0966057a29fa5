package harness

import (
	"bytes"
	"sync"
)

// maxLogBytes bounds the output a TailBuffer keeps in memory for error
// messages.
const maxLogBytes = 1 << 20

// TailBuffer keeps the last megabyte written to it (a child process's
// output, for error messages); safe for concurrent use. The zero value is
// ready to use.
type TailBuffer struct {
	mu  sync.Mutex // protects buf
	buf bytes.Buffer
}

// Write appends p, dropping the oldest bytes beyond the bound.
func (t *TailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf.Write(p)
	if over := t.buf.Len() - maxLogBytes; over > 0 {
		t.buf.Next(over)
	}
	return len(p), nil
}

// String returns what is kept.
func (t *TailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.buf.String()
}
