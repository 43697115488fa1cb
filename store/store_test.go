package store

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/leaderhook/leaderhook/actions"
	"github.com/leaderhook/leaderhook/detector"
	"github.com/leaderhook/leaderhook/dispatch"
	"github.com/leaderhook/leaderhook/event"
	"github.com/leaderhook/leaderhook/rules"
)

func delivery(id string, attempts int) dispatch.Delivery {
	return dispatch.Delivery{ID: id, Action: "page", Attempts: attempts,
		Notification: actions.Notification{DeliveryID: id, Rule: "r", Status: actions.StatusFiring, Cluster: "c1",
			FiredAt: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), LeaderlessFor: 30 * time.Second}}
}

func TestStateSurvivesReopen(t *testing.T) {
	dir := t.TempDir()
	d, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
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

	d2, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
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
	d, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	d.Pending(delivery("msg_1", 0))
	d.Close()
	f, _ := os.OpenFile(filepath.Join(dir, pendingFile), os.O_WRONLY|os.O_APPEND, 0)
	f.WriteString(`{"op":"pending","id":"msg_2","deliv`) // a crash mid-write
	f.Close()
	d2, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer d2.Close()
	_, pending, err := d2.Load()
	if err != nil || len(pending) != 1 || pending[0].ID != "msg_1" {
		t.Errorf("pending %+v, %v", pending, err)
	}
}

func TestJournalIsCompacted(t *testing.T) {
	dir := t.TempDir()
	d, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	for i := range 3000 {
		id := "msg_" + string(rune('a'+i%26)) + time.Duration(i).String()
		d.Pending(delivery(id, 0))
		d.Done(id)
	}
	info, err := os.Stat(filepath.Join(dir, pendingFile))
	if err != nil {
		t.Fatal(err)
	}
	if info.Size() > 2_000_000/4 {
		t.Errorf("journal is %d bytes after 3000 finished deliveries: not compacted", info.Size())
	}
}

func TestSaveIsAtomic(t *testing.T) {
	dir := t.TempDir()
	d, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if err := d.Save(State{}); err != nil {
		t.Fatal(err)
	}
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if e.Name() != stateFile && e.Name() != pendingFile {
			t.Errorf("left behind: %s", e.Name())
		}
	}
}

// TestDoneIsWrittenSoonAfter: the end of a delivery reaches the journal
// with the next write or within doneDelay, without a Close; until then, a
// crash would leave it pending (sent again: at least once).
func TestDoneIsWrittenSoonAfter(t *testing.T) {
	for _, tc := range []struct {
		name       string
		then       func(d *Dir)
		stillThere []string // pending as seen by a restart that follows a crash
	}{
		{"crash at once", func(*Dir) {}, []string{"a"}},
		{"with the next pending", func(d *Dir) { d.Pending(delivery("b", 0)) }, []string{"b"}},
		{"after the delay", func(*Dir) { time.Sleep(doneDelay + 100*time.Millisecond) }, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			d, err := Open(dir)
			if err != nil {
				t.Fatal(err)
			}
			d.Pending(delivery("a", 0))
			d.Done("a")
			tc.then(d)
			// A crash: read the journal as a restart would, without Close.
			again, err := Open(dir)
			if err != nil {
				t.Fatal(err)
			}
			_, pending, _ := again.Load()
			var ids []string
			for _, p := range pending {
				ids = append(ids, p.ID)
			}
			if !slices.Equal(ids, tc.stillThere) {
				t.Errorf("pending after a crash: %v, want %v", ids, tc.stillThere)
			}
			again.Close()
			d.Close()
		})
	}
}
