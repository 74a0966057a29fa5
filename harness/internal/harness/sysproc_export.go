package harness

import "syscall"

// SysProcAttr is what every child process of the harness starts with: on
// Linux, the kernel kills it if this process dies without stopping it.
func SysProcAttr() *syscall.SysProcAttr { return sysProcAttr() }
