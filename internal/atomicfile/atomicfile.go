// Package atomicfile replaces a file whole: readers, and a restart after
// the process dies, see the old file or the new one, never a torn one,
// and a power loss leaves one of them rather than an empty file.
package atomicfile

import (
	"os"
	"path/filepath"
)

// syncFile flushes a file to the disk; the tests watch what it flushes
// when.
var syncFile = (*os.File).Sync

// Write writes data to a temporary file beside path (mode 0600) and
// renames it over path. The new file is synced before the rename, and the
// directory after: without, a power loss can leave the name on an empty
// file, which would forget all that the old one held.
func Write(path string, data []byte) error {
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, tempPattern(path))
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name()) // no-op after the rename
	if _, err = tmp.Write(data); err == nil {
		err = syncFile(tmp)
	}
	if err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return err
	}
	syncDir(dir)
	return nil
}

// Leftovers are the temporary files of Writes to path that a killed
// process left behind.
func Leftovers(path string) []string {
	found, _ := filepath.Glob(filepath.Join(filepath.Dir(path), tempPattern(path))) // the pattern is valid
	return found
}

// tempPattern is the name of the temporary files that replace path's
// file, for os.CreateTemp and filepath.Glob: hidden, and never matching a
// pattern the caller's own files match.
func tempPattern(path string) string { return "." + filepath.Base(path) + ".tmp-*" }

// syncDir makes a rename in dir durable, as far as it can: the rename is
// done, and the caller must go on with the new file whatever this says,
// so a failure only leaves the old file to a power loss.
func syncDir(dir string) {
	d, err := os.Open(dir)
	if err != nil {
		return
	}
	defer d.Close()
	_ = syncFile(d)
}
