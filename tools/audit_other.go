//go:build !linux

package tools

import "os"

// freeBytes is unknown here: Ready relies on the last write's outcome.
func freeBytes(*os.File) (int64, bool) { return 0, false }
