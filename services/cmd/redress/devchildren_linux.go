//go:build dev

package main

import "syscall"

// childProcAttr puts a child in its own process group and has the kernel
// end it if dev dies without stopping it.
func childProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGTERM}
}
