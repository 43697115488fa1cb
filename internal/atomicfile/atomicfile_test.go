package atomicfile

import (
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
