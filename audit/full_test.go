package audit

import (
	"bufio"
	"encoding/json"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/leaderhook/leaderhook/dispatch"
	"github.com/leaderhook/leaderhook/internal/diskfull"
)

// A write cut short by a full disk (here: the file size limit) tears its
// line; the next record, written once there is room, starts a line of
// its own and stays readable.
func TestRecordAfterATornWriteIsReadable(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.jsonl")
	var failures atomic.Int64
	a, err := Open(path, slog.New(slog.DiscardHandler), func(error) { failures.Add(1) })
	if err != nil {
		t.Fatal(err)
	}
	a.Record(dispatch.Record{Kind: "attempt", Rule: "first"})
	var size int64
	waitFor(t, "the first record written", func() bool {
		info, err := os.Stat(path)
		if err != nil {
			return false
		}
		size = info.Size()
		return size > 0 // one write(2): whole once there
	})
	restore := diskfull.Limit(t, size+40)
	a.Record(dispatch.Record{Kind: "attempt", Rule: "second, cut short by the full disk"})
	waitFor(t, "the second record failed", func() bool { return failures.Load() > 0 })
	// Restored first: the window of the limit must open no file (the
	// test log the go command keeps could not be written in it).
	restore()
	a.Reopen() // the same file, still torn
	a.Record(dispatch.Record{Kind: "attempt", Rule: "third, written whole"})
	a.Close()
	if got, want := readableRules(t, path), []string{"first", "third, written whole"}; !slices.Equal(got, want) {
		t.Errorf("readable records %q, want %q", got, want)
	}
}

// waitFor waits for cond, failing the test after a few seconds.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); !cond(); time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

// readableRules lists the rules of the records that parse, in order.
func readableRules(t *testing.T, path string) []string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var rules []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var r dispatch.Record
		if json.Unmarshal(sc.Bytes(), &r) == nil {
			rules = append(rules, r.Rule)
		}
	}
	return rules
}
