//go:build !unix

package sqlite

import "os"

// writable approximates access(2) with the permission bits.
func writable(path string) (bool, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return false, err
	}
	return fi.Mode().Perm()&0o222 != 0, nil
}
