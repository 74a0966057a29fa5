package harness

import "syscall"

// SysProcAttr is what every child process of the harness starts with: the
// kernel kills it if this process dies without stopping it (a test binary
// killed by its timeout, say).
func SysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
