package harness

import "syscall"

// sysProcAttr makes the kernel kill Traefik if this process dies without
// stopping it (a test binary killed by its timeout, say).
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
