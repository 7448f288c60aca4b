//go:build unix

package sqlite

import (
	"errors"
	"syscall"
)

// writable asks the kernel whether this process may write path, with the
// same rules an open would apply (root, ACLs, read-only mounts).
func writable(path string) (bool, error) {
	const wOK = 2
	err := syscall.Access(path, wOK)
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, syscall.EACCES), errors.Is(err, syscall.EROFS), errors.Is(err, syscall.EPERM):
		return false, nil
	}
	return false, err
}
