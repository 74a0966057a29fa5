// Package harness runs a real Traefik with the plugin loaded from this
// repository's source as a local plugin (plugins-local/src/<module> in a
// temporary working directory per run), as a developer does before publishing.
package harness

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
)

// PluginModule is the plugin's Go module path, the moduleName given to Traefik.
const PluginModule = "github.com/traefik-authgear/traefik-authgear"

// PluginName is the plugin's key in Traefik's static configuration, the name
// used after "plugin." in middleware definitions.
const PluginName = "authgear"

// RepoRoot walks up from the working directory to the folder whose go.mod
// declares PluginModule.
func RepoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if mod, err := modulePath(filepath.Join(dir, "go.mod")); err == nil && mod == PluginModule {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("no go.mod with module %s above the working directory", PluginModule)
		}
		dir = parent
	}
}

// modulePath returns the module path declared in a go.mod file.
func modulePath(goMod string) (string, error) {
	data, err := os.ReadFile(goMod)
	if err != nil {
		return "", err
	}
	for line := range strings.Lines(string(data)) {
		if rest, ok := strings.CutPrefix(strings.TrimSpace(line), "module"); ok {
			return strings.Trim(strings.TrimSpace(rest), `"`), nil
		}
	}
	return "", fmt.Errorf("%s: no module line", goMod)
}

// TraefikBinary returns the path of the Traefik binary that tools/traefik-bin.sh
// provides: TRAEFIK_BIN when set, else a cached build, built on first use
// (about 15 minutes). The script's progress goes to this process's stderr.
func TraefikBinary() (string, error) {
	root, err := RepoRoot()
	if err != nil {
		return "", err
	}
	cmd := exec.Command(filepath.Join(root, "tools", "traefik-bin.sh"))
	cmd.Dir = root
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("tools/traefik-bin.sh: %w", err)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	bin := strings.TrimSpace(lines[len(lines)-1])
	if bin == "" {
		return "", errors.New("tools/traefik-bin.sh printed no path")
	}
	return bin, nil
}

// FreeAddr returns a loopback address with a port that was free a moment ago.
func FreeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	addr := l.Addr().String()
	return addr, l.Close()
}

// maxLogBytes bounds the output a TailBuffer keeps.
const maxLogBytes = 1 << 20

// TailBuffer keeps the last megabyte written to it; safe for concurrent use,
// ready as the zero value.
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
