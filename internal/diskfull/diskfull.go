// Package diskfull makes writes fail part way, as a full disk does, for
// tests: the process's file size limit (RLIMIT_FSIZE) cuts a write short
// at a chosen size. The limit holds for the whole process, so no other
// file may grow past it meanwhile, the go command's test log included:
// restore it before opening or statting files.
package diskfull

import (
	"syscall"
	"testing"
)

// Limit sets the process's file size limit to size bytes until the
// returned function, or the test's end, restores it.
func Limit(t testing.TB, size int64) (restore func()) {
	t.Helper()
	var old syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_FSIZE, &old); err != nil {
		t.Fatalf("reading the file size limit: %v", err)
	}
	if err := syscall.Setrlimit(syscall.RLIMIT_FSIZE, &syscall.Rlimit{Cur: uint64(size), Max: old.Max}); err != nil {
		t.Fatalf("setting the file size limit: %v", err)
	}
	restore = func() {
		if err := syscall.Setrlimit(syscall.RLIMIT_FSIZE, &old); err != nil {
			t.Fatalf("restoring the file size limit: %v", err)
		}
	}
	t.Cleanup(restore)
	return restore
}
