package store

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/leaderhook/leaderhook/actions"
	"github.com/leaderhook/leaderhook/detector"
	"github.com/leaderhook/leaderhook/dispatch"
	"github.com/leaderhook/leaderhook/event"
	"github.com/leaderhook/leaderhook/rules"
)

// mustOpen opens the state directory or ends the test.
func mustOpen(t *testing.T, dir string) *Dir {
	t.Helper()
	d, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// crash leaves d as a killed process would: its files as they are, its
// lock released by the kernel.
func crash(d *Dir) {
	d.lock.Close()
	d.lock = nil
}

func delivery(id string, attempts int) dispatch.Delivery {
	return dispatch.Delivery{ID: id, Action: "page", Attempts: attempts,
		Notification: actions.Notification{DeliveryID: id, Rule: "r", Status: actions.StatusFiring, Cluster: "c1",
			FiredAt: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), LeaderlessFor: 30 * time.Second}}
}

func TestStateSurvivesReopen(t *testing.T) {
	dir := t.TempDir()
	d := mustOpen(t, dir)
	since := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	st := State{
		SavedAt: since,
		Views:   map[string]detector.State{"c1": {Known: true, PreviousLeaderID: "a", Since: since, Members: []string{"a", "b", "c"}}},
		Engine: rules.Snapshot{Clusters: []rules.ClusterSnapshot{{Name: "c1", Now: since,
			State: event.Event{Source: event.DetectorSource, Cluster: "c1", Time: since, Type: event.Leaderless, Since: since},
			Rules: []rules.RuleSnapshot{{Rule: "r", Definition: "x", Active: true, Fired: true, LastFired: map[string]time.Time{"": since}}}}}},
	}
	if err := d.Save(st); err != nil {
		t.Fatal(err)
	}
	d.Pending(delivery("msg_1", 0))
	d.Pending(delivery("msg_2", 0))
	d.Pending(delivery("msg_1", 2)) // after two failed attempts
	d.Done("msg_2")
	d.Close()

	d2 := mustOpen(t, dir)
	defer d2.Close()
	got, pending, err := d2.Load()
	if err != nil {
		t.Fatal(err)
	}
	if v := got.Views["c1"]; !v.Since.Equal(since) || v.PreviousLeaderID != "a" || len(v.Members) != 3 {
		t.Errorf("view %+v", v)
	}
	if c := got.Engine.Clusters; len(c) != 1 || !c[0].Rules[0].Fired || !c[0].Rules[0].LastFired[""].Equal(since) || c[0].State.Type != event.Leaderless {
		t.Errorf("engine %+v", got.Engine)
	}
	if len(pending) != 1 || pending[0].ID != "msg_1" || pending[0].Attempts != 2 || pending[0].Notification.LeaderlessFor != 30*time.Second {
		t.Errorf("pending %+v", pending)
	}
}

func TestTornJournalLineIsSkipped(t *testing.T) {
	dir := t.TempDir()
	d := mustOpen(t, dir)
	d.Pending(delivery("msg_1", 0))
	d.Close()
	f, _ := os.OpenFile(filepath.Join(dir, pendingFile), os.O_WRONLY|os.O_APPEND, 0)
	f.WriteString(`{"op":"pending","id":"msg_2","deliv`) // a crash mid-write
	f.Close()
	d2 := mustOpen(t, dir)
	defer d2.Close()
	_, pending, err := d2.Load()
	if err != nil || len(pending) != 1 || pending[0].ID != "msg_1" {
		t.Errorf("pending %+v, %v", pending, err)
	}
}

func TestJournalIsCompacted(t *testing.T) {
	dir := t.TempDir()
	d := mustOpen(t, dir)
	defer d.Close()
	for i := range compactAfter {
		id := "msg_" + string(rune('a'+i%26)) + time.Duration(i).String()
		d.Pending(delivery(id, 0))
		d.Done(id)
	}
	data, err := os.ReadFile(filepath.Join(dir, pendingFile))
	if err != nil {
		t.Fatal(err)
	}
	if lines := bytes.Count(data, []byte("\n")); lines > compactAfter {
		t.Errorf("journal has %d lines after %d finished deliveries: not compacted", lines, compactAfter)
	}
}

func TestSaveLeavesNothingBehind(t *testing.T) {
	dir := t.TempDir()
	d := mustOpen(t, dir)
	defer d.Close()
	if err := d.Save(State{}); err != nil {
		t.Fatal(err)
	}
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if e.Name() != stateFile && e.Name() != pendingFile && e.Name() != lockFile {
			t.Errorf("left behind: %s", e.Name())
		}
	}
}

func savedLeader(t *testing.T, dir string) string {
	t.Helper()
	d := mustOpen(t, dir)
	defer d.Close()
	s, _, err := d.Load()
	if err != nil {
		t.Fatal(err)
	}
	return s.Views["c1"].PreviousLeaderID
}

func leaderState(id string) State {
	return State{Views: map[string]detector.State{"c1": {Known: true, PreviousLeaderID: id}}}
}

// writeOld writes the state.json of an earlier version.
func writeOld(t *testing.T, dir string, s State, indent bool) {
	t.Helper()
	data, err := json.Marshal(s)
	if indent {
		data, err = json.MarshalIndent(s, "", "  ")
	}
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, oldStateFile), data, 0o640); err != nil {
		t.Fatal(err)
	}
}

// TestStateAfterCrash: a restart sees the last whole save, whatever a
// crash left at the end of state.log, and earlier versions' state.json.
func TestStateAfterCrash(t *testing.T) {
	older, newer := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)
	stamped := func(id string, at time.Time) State { s := leaderState(id); s.SavedAt = at; return s }
	for _, tc := range []struct {
		name  string
		after func(t *testing.T, dir string) // what the crash left
		want  string
	}{
		{"whole saves", func(*testing.T, string) {}, "b"},
		{"a torn last line", func(t *testing.T, dir string) {
			appendTo(t, filepath.Join(dir, stateFile), `{"version":1,"views":{"c1":{"known":tr`)
		}, "b"},
		{"only torn lines", func(t *testing.T, dir string) {
			if err := os.WriteFile(filepath.Join(dir, stateFile), []byte(`{"version":1,"vie`), 0o640); err != nil {
				t.Fatal(err)
			}
		}, ""},
		{"state.json of an earlier version, indented", func(t *testing.T, dir string) {
			if err := os.Remove(filepath.Join(dir, stateFile)); err != nil {
				t.Fatal(err)
			}
			writeOld(t, dir, leaderState("old"), true)
		}, "old"},
		{"a newer state.json (downgraded and upgraded again)", func(t *testing.T, dir string) {
			writeOld(t, dir, stamped("old", newer), false)
		}, "old"},
		{"an older state.json", func(t *testing.T, dir string) {
			writeOld(t, dir, stamped("old", older), false)
		}, "b"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			d := mustOpen(t, dir)
			for _, id := range []string{"a", "b"} {
				if err := d.Save(stamped(id, older.Add(time.Hour))); err != nil {
					t.Fatal(err)
				}
			}
			d.Close()
			tc.after(t, dir)
			if got := savedLeader(t, dir); got != tc.want {
				t.Errorf("restart sees leader %q, want %q", got, tc.want)
			}
			if _, err := os.Stat(filepath.Join(dir, oldStateFile)); err == nil {
				t.Error("state.json is still there after the restart")
			}
			// Saves after the restart are read back, torn fragment or not.
			d = mustOpen(t, dir)
			if err := d.Save(leaderState("c")); err != nil {
				t.Fatal(err)
			}
			d.Close()
			if got := savedLeader(t, dir); got != "c" {
				t.Errorf("after another save the restart sees %q, want c", got)
			}
		})
	}
}

// TestDamagedOldStateIsReported: a state.json that does not parse was not
// torn by a crash (it was replaced atomically); starting without it would
// forget cooldowns silently, so Open refuses and names the file.
func TestDamagedOldStateIsReported(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, oldStateFile)
	if err := os.WriteFile(path, []byte(`{"version":1,"views":`), 0o640); err != nil {
		t.Fatal(err)
	}
	if d, err := Open(dir); err == nil || !strings.Contains(err.Error(), path) {
		t.Errorf("Open with a damaged state.json: %v, want an error naming it", err)
		if d != nil {
			d.Close()
		}
	}
	if _, err := os.Stat(path); err != nil {
		t.Errorf("the damaged state.json is gone: %v", err)
	}
}

// TestSavesAppend: each save is one line added, not the file rewritten.
func TestSavesAppend(t *testing.T) {
	dir := t.TempDir()
	d := mustOpen(t, dir)
	defer d.Close()
	for i := range 10 {
		if err := d.Save(leaderState(string(rune('a' + i)))); err != nil {
			t.Fatal(err)
		}
	}
	data, err := os.ReadFile(filepath.Join(dir, stateFile))
	if err != nil {
		t.Fatal(err)
	}
	if lines := bytes.Count(data, []byte("\n")); lines != 10 {
		t.Errorf("state.log has %d lines after 10 saves, want 10", lines)
	}
}

func appendTo(t *testing.T, path, text string) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteString(text); err != nil {
		t.Fatal(err)
	}
}

func TestStateLogIsCompacted(t *testing.T) {
	dir := t.TempDir()
	d := mustOpen(t, dir)
	defer d.Close()
	big := leaderState("x")
	v := big.Views["c1"]
	v.Members = slices.Repeat([]string{strings.Repeat("m", 1000)}, 10) // ~10 kB a save
	big.Views["c1"] = v
	for range 2 * stateCompactBytes / 10_000 {
		if err := d.Save(big); err != nil {
			t.Fatal(err)
		}
	}
	info, err := os.Stat(filepath.Join(dir, stateFile))
	if err != nil {
		t.Fatal(err)
	}
	if info.Size() > stateCompactBytes {
		t.Errorf("state.log is %d bytes after saves of %d MB: not compacted", info.Size(), 2*stateCompactBytes>>20)
	}
	crash(d)
	if got := savedLeader(t, dir); got != "x" {
		t.Errorf("after compaction the restart sees %q", got)
	}
}

// TestJournalIsWrittenAtOnce: Pending and Done return once their line is
// written: a crash right after either (the journal read as a restart
// would, without Close) finds it.
func TestJournalIsWrittenAtOnce(t *testing.T) {
	for _, tc := range []struct {
		name     string
		then     func(d *Dir)
		want     []string // pending as seen by a restart after the crash
		attempts int      // of the delivery resumed
	}{
		{"pending", func(*Dir) {}, []string{"a"}, 0},
		{"done", func(d *Dir) { d.Done("a") }, nil, 0},
		{"retried", func(d *Dir) { d.Pending(delivery("a", 1)) }, []string{"a"}, 1},
		{"done, then another", func(d *Dir) { d.Done("a"); d.Pending(delivery("b", 0)) }, []string{"b"}, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			d := mustOpen(t, dir)
			defer d.Close()
			if err := d.Pending(delivery("a", 0)); err != nil {
				t.Fatal(err)
			}
			tc.then(d)
			crash(d)
			again := mustOpen(t, dir)
			defer again.Close()
			_, pending, _ := again.Load()
			var ids []string
			for _, p := range pending {
				ids = append(ids, p.ID)
			}
			if !slices.Equal(ids, tc.want) {
				t.Errorf("pending after a crash: %v, want %v", ids, tc.want)
			}
			if len(pending) > 0 && pending[0].Attempts != tc.attempts {
				t.Errorf("resumed with %d attempts, want %d", pending[0].Attempts, tc.attempts)
			}
		})
	}
}

// A delivery that cannot be encoded is an error, and does not keep the
// others out of the journal.
func TestJournalWritesWhatItCanEncode(t *testing.T) {
	dir := t.TempDir()
	d := mustOpen(t, dir)
	defer d.Close()
	bad := delivery("bad", 0)
	bad.Notification.Event = map[string]any{"f": func() {}}
	if err := d.Pending(bad); err == nil || !strings.Contains(err.Error(), "bad") {
		t.Errorf("journaling a delivery that cannot be encoded: %v, want an error naming it", err)
	}
	if err := d.Pending(delivery("good", 0)); err != nil {
		t.Fatal(err)
	}
	crash(d)
	again := mustOpen(t, dir)
	defer again.Close()
	_, pending, _ := again.Load()
	if len(pending) != 1 || pending[0].ID != "good" {
		t.Errorf("pending after a crash: %+v, want the good delivery", pending)
	}
}

// A second Open of a directory in use fails, naming the holder's PID,
// and changes nothing there; once the first is closed, it opens.
func TestStateDirIsLocked(t *testing.T) {
	dir := t.TempDir()
	first := mustOpen(t, dir)
	if err := first.Pending(delivery("msg_1", 0)); err != nil {
		t.Fatal(err)
	}
	before, _ := os.ReadFile(filepath.Join(dir, pendingFile))
	second, err := Open(dir)
	if err == nil {
		second.Close()
		t.Fatal("a second Open of the same state_dir succeeded")
	}
	if want := fmt.Sprintf("in use by leaderhook PID %d", os.Getpid()); !strings.Contains(err.Error(), want) {
		t.Errorf("error %q, want it to say %q", err, want)
	}
	if after, _ := os.ReadFile(filepath.Join(dir, pendingFile)); !bytes.Equal(before, after) {
		t.Errorf("the refused Open changed pending.log: %q → %q", before, after)
	}
	first.Close()
	again := mustOpen(t, dir)
	again.Close()
}

// A changed byte in the middle of a state file refuses the start, naming
// the file and line and saying what to do; a torn last line is skipped,
// and noted.
func TestDamagedLines(t *testing.T) {
	for _, tc := range []struct {
		name   string
		file   string
		damage func(data []byte) []byte
		line   int    // of the error; 0: Open succeeds
		noted  string // in Notes
	}{
		{"a changed byte in a pending line", pendingFile, func(b []byte) []byte { return flip(b, bytes.Index(b, []byte("msg_2"))+4) }, 2, ""},
		{"a torn last pending line", pendingFile, func(b []byte) []byte { return b[:len(b)-20] }, 0, "the last line is torn"},
		{"a changed byte in the state", stateFile, func(b []byte) []byte { return flip(b, bytes.Index(b, []byte(`"c1"`))+1) }, 1, ""},
		{"a state.log replaced by something else", stateFile, func([]byte) []byte { return []byte("#!/bin/sh\nrm -rf /\n") }, 1, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			d := mustOpen(t, dir)
			d.Save(leaderState("a"))
			for _, id := range []string{"msg_1", "msg_2", "msg_3"} {
				d.Pending(delivery(id, 0))
			}
			d.Close()
			path := filepath.Join(dir, tc.file)
			data, _ := os.ReadFile(path)
			os.WriteFile(path, tc.damage(data), 0o640)
			d, err := Open(dir)
			if tc.line == 0 {
				if err != nil {
					t.Fatalf("Open: %v", err)
				}
				defer d.Close()
				if notes := strings.Join(d.Notes(), "\n"); !strings.Contains(notes, tc.noted) || !strings.Contains(notes, path) {
					t.Errorf("notes %q, want %q about %s", notes, tc.noted, path)
				}
				return
			}
			var damaged *DamagedError
			if !errors.As(err, &damaged) || damaged.Line != tc.line || !strings.Contains(err.Error(), fmt.Sprintf("%s:%d:", path, tc.line)) ||
				!strings.Contains(err.Error(), "move it away") {
				t.Errorf("Open: %v, want a damaged line at %s:%d that says what to do", err, path, tc.line)
			}
			if err == nil {
				d.Close()
			}
		})
	}
}

// flip changes the byte at i.
func flip(b []byte, i int) []byte {
	b = bytes.Clone(b)
	b[i] ^= 0x01
	return b
}

// A write that fails half done (a full disk) leaves no fragment between
// good lines.
func TestFailedWriteLeavesNoFragment(t *testing.T) {
	dir := t.TempDir()
	d := mustOpen(t, dir)
	defer d.Close()
	d.Pending(delivery("msg_1", 0))
	// What a short write leaves, which write undoes before the next line.
	j := &d.journal
	j.file.Write([]byte("deadbeef {\"op\":\"pend"))
	if err := j.file.Truncate(j.size); err != nil {
		t.Fatal(err)
	}
	d.Pending(delivery("msg_2", 0))
	crash(d)
	again := mustOpen(t, dir)
	defer again.Close()
	if _, pending, _ := again.Load(); len(pending) != 2 {
		t.Errorf("pending %+v, want both", pending)
	}
}

// A clean stop keeps the deliveries that only memory held after a failed
// journal write, once the disk works again.
func TestCloseRepairsTheJournal(t *testing.T) {
	dir := t.TempDir()
	d := mustOpen(t, dir)
	if err := d.Pending(delivery("msg_1", 0)); err != nil {
		t.Fatal(err)
	}
	d.journal.file.Close() // the next write fails, as on a full disk
	if err := d.Pending(delivery("msg_2", 0)); err == nil {
		t.Fatal("a write to a closed journal succeeded")
	}
	if d.CrashSafe() == nil {
		t.Fatal("CrashSafe is nil after a failed write")
	}
	// The disk works again (a rewrite opens a new file): the stop follows.
	if err := d.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	again := mustOpen(t, dir)
	defer again.Close()
	_, pending, err := again.Load()
	if err != nil {
		t.Fatal(err)
	}
	if ids := pendingIDs(pending); !slices.Equal(ids, []string{"msg_1", "msg_2"}) {
		t.Errorf("pending after a clean stop: %v, want msg_1 and msg_2", ids)
	}
}

func pendingIDs(pending []dispatch.Delivery) []string {
	var ids []string
	for _, p := range pending {
		ids = append(ids, p.ID)
	}
	return ids
}

// tornWrites is the journal's file on a failing disk: a write stops half
// done, and the fragment cannot be cut.
type tornWrites struct{ appendFile }

func (f tornWrites) Write(p []byte) (int, error) {
	n, _ := f.appendFile.Write(p[:len(p)/2])
	return n, errors.New("no space left on device")
}

func (tornWrites) Truncate(int64) error { return errors.New("input/output error") }

// After a write torn half done that cannot be undone, nothing is appended
// behind the fragment: it stays the torn last line, which a restart skips,
// instead of a damaged line that refuses the start. Repair writes all.
func TestTornWriteIsNotFollowed(t *testing.T) {
	for _, tc := range []struct {
		name string
		then func(d *Dir) error
		want []string // pending as seen by a restart after a crash
	}{
		{"crash", func(*Dir) error { return nil }, []string{"msg_1"}},
		{"repaired, then crash", (*Dir).Repair, []string{"msg_1", "msg_2", "msg_3"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			d := mustOpen(t, dir)
			defer d.Close()
			if err := d.Pending(delivery("msg_1", 0)); err != nil {
				t.Fatal(err)
			}
			file := d.journal.file
			d.journal.file = tornWrites{file}
			if err := d.Pending(delivery("msg_2", 0)); err == nil {
				t.Fatal("a torn write succeeded")
			}
			d.journal.file = file // the disk works again
			if err := d.Pending(delivery("msg_3", 0)); err == nil {
				t.Error("a line was appended after a fragment that could not be cut")
			}
			if err := tc.then(d); err != nil {
				t.Fatal(err)
			}
			crash(d)
			again, err := Open(dir)
			if err != nil {
				t.Fatalf("restart after the crash: %v", err)
			}
			defer again.Close()
			_, pending, _ := again.Load()
			if ids := pendingIDs(pending); !slices.Equal(ids, tc.want) {
				t.Errorf("pending after the restart: %v, want %v", ids, tc.want)
			}
		})
	}
}

// fullDisk is a disk with no room for a file's new copy until it is
// freed; appending a line to a file still fits.
type fullDisk struct{ full bool }

func (d *fullDisk) replace(path string, data []byte) error {
	if d.full {
		return fmt.Errorf("open %s.tmp: no space left on device", path)
	}
	return writeAtomic(path, data)
}

// A start that cannot rewrite its files (a full disk) keeps them as they
// are: it resumes from them, appends to the journal (a torn last line
// cut first), and the next save rewrites state.log once there is room.
func TestStartOnAFullDisk(t *testing.T) {
	for _, tc := range []struct {
		name   string
		damage func(t *testing.T, dir string)
		// the journal kept holds every pending delivery: the last one is
		// not cut with a torn line
		crashSafe bool
	}{
		{"whole files", func(*testing.T, string) {}, true},
		{"a torn last pending line", func(t *testing.T, dir string) {
			appendTo(t, filepath.Join(dir, pendingFile), `1234abcd {"op":"pending","id":"msg_9","deliv`)
		}, true},
		{"a last pending line without its newline", func(t *testing.T, dir string) {
			path := filepath.Join(dir, pendingFile)
			data, _ := os.ReadFile(path)
			os.WriteFile(path, bytes.TrimSuffix(data, []byte("\n")), 0o640)
		}, false},
		{"a torn last state line", func(t *testing.T, dir string) {
			appendTo(t, filepath.Join(dir, stateFile), `1234abcd {"version":1,"views":{"c1":{"known":tr`)
		}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			d := mustOpen(t, dir)
			d.Save(leaderState("a"))
			d.Pending(delivery("msg_1", 0))
			d.Pending(delivery("msg_2", 0))
			d.Close()
			tc.damage(t, dir)
			disk := &fullDisk{full: true}
			d, err := open(dir, disk.replace)
			if err != nil {
				t.Fatalf("start on a full disk: %v", err)
			}
			defer d.Close()
			assertResumes(t, d, "a", "msg_1", "msg_2")
			if err := d.CrashSafe(); (err == nil) != tc.crashSafe {
				t.Errorf("the journal kept as it is: CrashSafe %v, want nil: %v", err, tc.crashSafe)
			}
			if err := d.Pending(delivery("msg_3", 0)); err != nil {
				t.Errorf("appending to the journal kept: %v", err)
			}
			disk.full = false
			if err := d.Repair(); err != nil {
				t.Errorf("repair with room again: %v", err)
			}
			if err := d.Save(leaderState("b")); err != nil {
				t.Errorf("the first save with room again: %v", err)
			}
			crash(d)
			again := mustOpen(t, dir)
			defer again.Close()
			assertResumes(t, again, "b", "msg_1", "msg_2", "msg_3")
		})
	}
}

// A compaction that fails (a full disk) fails no Done: the done line is
// written and the journal is whole. It is reported, tried again only once
// the journal has grown further, and succeeds once there is room.
func TestFailedCompactionIsPostponed(t *testing.T) {
	dir := t.TempDir()
	disk := &fullDisk{}
	d, err := open(dir, disk.replace)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	var reported []error
	d.OnCompactionFailure(func(err error) { reported = append(reported, err) })
	if err := d.Pending(delivery("msg_kept", 0)); err != nil {
		t.Fatal(err)
	}
	n := 0
	finish := func(count int) {
		t.Helper()
		for range count {
			id := fmt.Sprintf("msg_%d", n)
			n++
			if err := d.Pending(delivery(id, 0)); err != nil {
				t.Fatal(err)
			}
			if err := d.Done(id); err != nil {
				t.Fatalf("Done %s, its line written: %v", id, err)
			}
		}
	}
	disk.full = true
	finish(compactAfter/2 + 1) // each adds two lines: the journal passes the limit
	if len(reported) != 1 || !strings.Contains(reported[0].Error(), "no space left") {
		t.Fatalf("reported %v, want the failed compaction once", reported)
	}
	if err := d.CrashSafe(); err != nil {
		t.Errorf("CrashSafe after a failed compaction: %v", err)
	}
	finish(compactRetryAfter/2 - 1)
	if len(reported) != 1 {
		t.Errorf("compaction tried again at every Done: reported %d times", len(reported))
	}
	finish(1)
	if len(reported) != 2 {
		t.Errorf("compaction not tried again once the journal grew: reported %d times", len(reported))
	}
	disk.full = false
	finish(compactRetryAfter / 2)
	if len(reported) != 2 || d.journal.lines != 1 {
		t.Errorf("with room again: reported %d times, %d lines, want 2 and the one pending", len(reported), d.journal.lines)
	}
	crash(d)
	again := mustOpen(t, dir)
	defer again.Close()
	if _, pending, _ := again.Load(); !slices.Equal(pendingIDs(pending), []string{"msg_kept"}) {
		t.Errorf("pending after a restart: %v, want msg_kept", pendingIDs(pending))
	}
}

// unopenable is a disk where a rewritten file, once broken, cannot be
// opened: a directory takes its place, which the next rewrite removes.
type unopenable struct{ broken, left bool }

func (u *unopenable) replace(path string, data []byte) error {
	if u.left {
		os.Remove(path)
		u.left = false
	}
	if err := writeAtomic(path, data); err != nil || !u.broken {
		return err
	}
	u.left = true
	if err := os.Remove(path); err != nil {
		return err
	}
	return os.Mkdir(path, 0o750)
}

// A compaction that replaces the journal but cannot open the new file
// leaves the old one open, no longer the journal: nothing more is written
// to it, and the journal is not crash-safe until repair opens the new one.
func TestCompactionThatCannotReopen(t *testing.T) {
	dir := t.TempDir()
	disk := &unopenable{}
	d, err := open(dir, disk.replace)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if err := d.Pending(delivery("msg_1", 0)); err != nil {
		t.Fatal(err)
	}
	disk.broken = true
	if err := d.journal.compact(); err == nil {
		t.Fatal("a compaction that cannot open the new file succeeded")
	}
	if d.CrashSafe() == nil {
		t.Error("CrashSafe is nil with the journal's file replaced")
	}
	if err := d.Pending(delivery("msg_2", 0)); err == nil {
		t.Error("a line was written to the file that is no longer the journal")
	}
	disk.broken = false
	if err := d.Repair(); err != nil {
		t.Fatalf("repair: %v", err)
	}
	crash(d)
	again := mustOpen(t, dir)
	defer again.Close()
	if _, pending, _ := again.Load(); !slices.Equal(pendingIDs(pending), []string{"msg_1", "msg_2"}) {
		t.Errorf("pending after a restart: %v, want msg_1 and msg_2", pendingIDs(pending))
	}
}

// assertResumes checks the state and pending deliveries d loads.
func assertResumes(t *testing.T, d *Dir, leader string, pending ...string) {
	t.Helper()
	s, got, err := d.Load()
	if err != nil {
		t.Fatal(err)
	}
	if s.Views["c1"].PreviousLeaderID != leader {
		t.Errorf("resumes with leader %q, want %q", s.Views["c1"].PreviousLeaderID, leader)
	}
	if ids := pendingIDs(got); !slices.Equal(ids, pending) {
		t.Errorf("resumes with pending %v, want %v", ids, pending)
	}
}

// Open removes the temporary files of rewrites a killed process left, and
// nothing else; one it cannot remove is noted and does not stop the start.
func TestOpenRemovesLeftoverTempFiles(t *testing.T) {
	dir := t.TempDir()
	mustOpen(t, dir).Close()
	for _, name := range []string{".pending.log.tmp-123", ".state.log.tmp-456", "keep.txt"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte("partial"), 0o640); err != nil {
			t.Fatal(err)
		}
	}
	stuck := filepath.Join(dir, ".state.log.tmp-789")
	if err := os.MkdirAll(filepath.Join(stuck, "x"), 0o750); err != nil { // a directory with content: Remove fails
		t.Fatal(err)
	}
	d := mustOpen(t, dir)
	defer d.Close()
	var names []string
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		names = append(names, e.Name())
	}
	want := []string{".state.log.tmp-789", lockFile, "keep.txt", pendingFile, stateFile}
	slices.Sort(want)
	if !slices.Equal(names, want) {
		t.Errorf("state_dir holds %v after Open, want %v", names, want)
	}
	if notes := strings.Join(d.Notes(), "\n"); !strings.Contains(notes, stuck) {
		t.Errorf("notes %q, want one about %s", notes, stuck)
	}
}

// TestResumeKeepsTheOrderOfDecisions: a firing and its resolve decided at
// the same instant (stabilize and for of 0, timestamps of one second)
// resume in the order they were decided, whatever their ids, after a
// crash and after the compaction of the restart that follows.
func TestResumeKeepsTheOrderOfDecisions(t *testing.T) {
	for _, ids := range [][2]string{{"msg_b", "msg_a"}, {"msg_a", "msg_b"}} {
		t.Run(ids[0]+" then "+ids[1], func(t *testing.T) {
			dir := t.TempDir()
			firing, resolve := delivery(ids[0], 0), delivery(ids[1], 0)
			resolve.Notification.Status = actions.StatusResolved
			d := mustOpen(t, dir)
			d.Pending(firing)
			d.Pending(resolve)
			d.Pending(firing) // an attempt failed: the firing is journaled again
			crash(d)
			for _, when := range []string{"after a crash", "after the compaction of a restart"} {
				d = mustOpen(t, dir)
				_, pending, err := d.Load()
				if got := pendingIDs(pending); err != nil || !slices.Equal(got, ids[:]) {
					t.Errorf("%s: resumed %v, %v; want the order decided, %v", when, got, err, ids)
				}
				crash(d)
			}
		})
	}
}
