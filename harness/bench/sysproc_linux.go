package main

import "syscall"

// sysProcAttr makes the kernel kill a child if this process dies without
// stopping it.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
