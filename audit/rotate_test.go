package audit

import (
	"encoding/json"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/leaderhook/leaderhook/dispatch"
)

// What each way of rotating does to the file at the path, between a first
// record and a second one written a second later, with no signal.
var rotations = map[string]func(path string) error{
	// logrotate's default (create): rename, then a new file at the path.
	"rename and create": func(path string) error {
		if err := os.Rename(path, path+".1"); err != nil {
			return err
		}
		return os.WriteFile(path, nil, 0o640)
	},
	// nocreate: the file at the path is gone until leaderhook writes.
	"rename": func(path string) error { return os.Rename(path, path+".1") },
	"remove": os.Remove,
	// copytruncate: the same file, emptied.
	"copytruncate": func(path string) error {
		data, err := os.ReadFile(path)
		if err == nil {
			err = os.WriteFile(path+".1", data, 0o640)
		}
		if err == nil {
			err = os.Truncate(path, 0)
		}
		return err
	},
}

// A record written after the log was rotated away, however it was, lands
// in the file at the path, whole and alone; the one before it stays in the
// rotated file, once.
func TestRotatedLogIsFollowedWithoutASignal(t *testing.T) {
	for name, rotate := range rotations {
		t.Run(name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				path := filepath.Join(t.TempDir(), "audit.jsonl")
				a, errs := openCounted(t, path)
				a.Record(dispatch.Record{Kind: "attempt", Rule: "before"})
				synctest.Wait()
				if err := rotate(path); err != nil {
					t.Fatal(err)
				}
				time.Sleep(checkEvery) // fake time: the writer's next look at the path is due
				a.Record(dispatch.Record{Kind: "attempt", Rule: "after"})
				if err := a.Close(); err != nil {
					t.Fatal(err)
				}
				if got := rules(t, path); got != "after" {
					t.Errorf("the file at the path holds %q, want the record written after the rotation", got)
				}
				if name != "remove" {
					if got := rules(t, path+".1"); got != "before" {
						t.Errorf("the rotated file holds %q, want the record written before", got)
					}
				}
				if *errs != 0 {
					t.Errorf("%d write errors", *errs)
				}
			})
		})
	}
}

// A reload reopens the file at the path at once: what is written after it
// returns goes there, with no wait for the writer's next look.
func TestReopenFollowsARenameAtOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "audit.jsonl")
		a, _ := openCounted(t, path)
		a.Record(dispatch.Record{Kind: "attempt", Rule: "before"})
		synctest.Wait()
		if err := os.Rename(path, path+".1"); err != nil {
			t.Fatal(err)
		}
		if err := a.Reopen(); err != nil {
			t.Fatal(err)
		}
		if _, err := os.Stat(path); err != nil {
			t.Errorf("no file at the path after Reopen: %v", err)
		}
		a.Record(dispatch.Record{Kind: "attempt", Rule: "after"})
		if err := a.Close(); err != nil {
			t.Fatal(err)
		}
		if got := rules(t, path); got != "after" {
			t.Errorf("the file at the path holds %q, want the record written after Reopen", got)
		}
		if got := rules(t, path+".1"); got != "before" {
			t.Errorf("the renamed file holds %q, want the record written before", got)
		}
		if err := a.Reopen(); err != nil {
			t.Errorf("Reopen after Close: %v", err)
		}
	})
}

// A rotation that cannot be followed (the directory is gone) is logged,
// not counted as a loss: the writer keeps the file it has open, and writes
// again at the path once it can.
func TestUnfollowableRotationKeepsWriting(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), "log")
		if err := os.Mkdir(dir, 0o750); err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(dir, "audit.jsonl")
		var logs syncBuilder
		a, err := Open(path, slog.New(slog.NewTextHandler(&logs, nil)), nil)
		if err != nil {
			t.Fatal(err)
		}
		a.Record(dispatch.Record{Kind: "attempt", Rule: "before"})
		synctest.Wait()
		if err := os.Rename(dir, dir+".old"); err != nil {
			t.Fatal(err)
		}
		time.Sleep(checkEvery)
		a.Record(dispatch.Record{Kind: "attempt", Rule: "kept"})
		synctest.Wait()
		if err := a.Reopen(); err == nil || !strings.Contains(err.Error(), path) {
			t.Errorf("Reopen with no directory: %v, want an error naming %s", err, path)
		}
		if err := os.Rename(dir+".old", dir); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(path, path+".1"); err != nil {
			t.Fatal(err)
		}
		time.Sleep(checkEvery)
		a.Record(dispatch.Record{Kind: "attempt", Rule: "after"})
		if err := a.Close(); err != nil {
			t.Fatal(err)
		}
		if got := rules(t, path+".1"); got != "before kept" {
			t.Errorf("the file open while the path could not be reopened holds %q", got)
		}
		if got := rules(t, path); got != "after" {
			t.Errorf("the file at the path holds %q", got)
		}
		if got := logs.String(); strings.Count(got, "cannot reopen") != 1 || strings.Contains(got, "records lost") {
			t.Errorf("logged:\n%s\nwant one line on the reopen, nothing lost", got)
		}
	})
}

// openCounted opens the audit log at path and counts its write errors.
func openCounted(t *testing.T, path string) (*File, *int) {
	t.Helper()
	errs := new(int)
	a, err := Open(path, slog.New(slog.DiscardHandler), func(error) { *errs++ })
	if err != nil {
		t.Fatal(err)
	}
	return a, errs
}

// rules returns the rules of the records in the file at path, in order,
// and fails the test on a line that is not a whole record.
func rules(t *testing.T, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for line := range strings.Lines(string(data)) {
		var r dispatch.Record
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			t.Fatalf("%s: %q is not a record: %v", path, line, err)
		}
		got = append(got, r.Rule)
	}
	return strings.Join(got, " ")
}
