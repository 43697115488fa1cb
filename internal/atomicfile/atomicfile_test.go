package atomicfile

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestRewriteIsSyncedAroundItsRename: a rewrite (a compaction, a memory saved) reaches
// the disk before it replaces the file, and the rename after: a power
// loss leaves the old file or the new one, not an empty one in its place,
// which would forget every pending delivery.
func TestRewriteIsSyncedAroundItsRename(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "pending.log")
	if err := os.WriteFile(path, []byte("old\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	var synced []string
	defer func(was func(*os.File) error) { syncFile = was }(syncFile)
	syncFile = func(f *os.File) error {
		what := "the new copy"
		if f.Name() == dir {
			what = "the directory"
		}
		data, _ := os.ReadFile(path)
		synced = append(synced, fmt.Sprintf("%s while the file holds %q", what, data))
		return f.Sync()
	}
	if err := Write(path, []byte("new\n")); err != nil {
		t.Fatal(err)
	}
	want := []string{`the new copy while the file holds "old\n"`, `the directory while the file holds "new\n"`}
	if !slices.Equal(synced, want) {
		t.Errorf("synced:\n%s\nwant:\n%s", strings.Join(synced, "\n"), strings.Join(want, "\n"))
	}
}

// A copy that cannot be written or synced whole (a full disk) replaces
// nothing: the old file stays, and the error says why.
func TestFailedCopyLeavesTheOldFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "pending.log")
	if err := os.WriteFile(path, []byte("old\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	defer func(was func(*os.File) error) { syncFile = was }(syncFile)
	syncFile = func(f *os.File) error {
		if f.Name() == dir {
			return nil
		}
		return errors.New("no space left on device")
	}
	if err := Write(path, []byte("new\n")); err == nil || !strings.Contains(err.Error(), "no space left") {
		t.Errorf("Write = %v, want the sync's error", err)
	}
	if data, _ := os.ReadFile(path); string(data) != "old\n" {
		t.Errorf("the file holds %q, want the old content", data)
	}
	if left := Leftovers(path); len(left) != 0 {
		t.Errorf("temporary files left: %v", left)
	}
}
