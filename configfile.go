package authgear

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
)

// Bounds of the files New reads: far above any real secret or CA bundle,
// far below what would weigh on Traefik's configuration load.
const (
	maxSecretFileSize = 4 << 10
	maxCAFileSize     = 1 << 20
)

// readConfigFile reads the file at path for option (webhookSecretFile,
// tls.ca). New runs inside Traefik's configuration provider, so the read
// must neither block nor grow without bound: anything that is not a regular
// file (a FIFO or /dev/stdin would block New forever, /dev/zero never ends)
// is refused before it is opened, and a file larger than limit is refused.
// Symbolic links are followed: Kubernetes mounts secrets as links.
//
// The residual: the path may be swapped for a FIFO between the Stat and the
// Open, and opening a FIFO blocks until a writer appears. A non-blocking
// open needs syscall, which Traefik's Yaegi does not offer; swapping needs
// write access to the file's directory, which already lets one change the
// secret itself. The Stat after the Open still refuses what was opened.
// Errors name the option and what it accepts, never the file's contents,
// nor its path (a secret mistyped into the file option would be logged).
func readConfigFile(option, path string, limit int64) ([]byte, error) {
	info, err := os.Stat(path)
	if err != nil {
		return nil, fileError(option, "cannot read the file: "+osReason(err), limit)
	}
	if refused := checkConfigFile(option, info, limit); refused != nil {
		return nil, refused
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, fileError(option, "cannot read the file: "+osReason(err), limit)
	}
	defer f.Close()
	info, err = f.Stat()
	if err != nil {
		return nil, fileError(option, "cannot read the file: "+osReason(err), limit)
	}
	if refused := checkConfigFile(option, info, limit); refused != nil {
		return nil, refused
	}
	data, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, fileError(option, "cannot read the file: "+osReason(err), limit)
	}
	if int64(len(data)) > limit { // a file that grew, or whose size Stat does not know (/proc)
		return nil, fileError(option, "the file is too large", limit)
	}
	return data, nil
}

// checkConfigFile refuses a file that is not regular, or larger than limit.
func checkConfigFile(option string, info fs.FileInfo, limit int64) error {
	if !info.Mode().IsRegular() {
		return fileError(option, "the path is "+fileKind(info.Mode())+", not a regular file", limit)
	}
	if info.Size() > limit {
		return fileError(option, "the file is too large", limit)
	}
	return nil
}

// fileError is readConfigFile's error: the option, what went wrong, and
// what the option accepts.
func fileError(option, problem string, limit int64) error {
	return fmt.Errorf("%s: %s: give the path of a regular file of at most %s", option, problem, formatSize(limit))
}

// osReason is err without the path that os's errors repeat: the errno's
// text ("no such file or directory", "permission denied").
func osReason(err error) string {
	if inner := errors.Unwrap(err); inner != nil {
		return inner.Error()
	}
	return err.Error()
}

// fileKind names what a non-regular file is, for the error.
func fileKind(mode fs.FileMode) string {
	switch {
	case mode.IsDir():
		return "a directory"
	case mode&fs.ModeNamedPipe != 0:
		return "a named pipe (FIFO)"
	case mode&fs.ModeSocket != 0:
		return "a socket"
	case mode&fs.ModeDevice != 0:
		return "a device"
	}
	return "a special file"
}

// formatSize writes a bound as people write it: "4 KiB", "1 MiB".
func formatSize(n int64) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%d KiB", n>>10)
	}
	return fmt.Sprintf("%d bytes", n)
}
