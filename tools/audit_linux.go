package tools

import (
	"os"
	"syscall"
)

// freeBytes is the space an unprivileged writer may still use on f's
// file system.
func freeBytes(f *os.File) (int64, bool) {
	var st syscall.Statfs_t
	if err := syscall.Fstatfs(int(f.Fd()), &st); err != nil {
		return 0, false
	}
	return int64(st.Bavail) * int64(st.Bsize), true
}
