package daemon

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/leaderhook/leaderhook/event"
)

// The events remembered from a recording are its latest ones taken over
// HTTP, across its two files, and none of the recorder's own lines.
func TestRecordedRecentRemembersTheLatestHTTPEvents(t *testing.T) {
	dir := t.TempDir()
	at := time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC)
	line := func(cluster string, i int) (string, event.Event) {
		ev := event.Event{Cluster: cluster, Source: "c1", Type: event.HasLeader, LeaderID: "c1", Time: at.Add(time.Duration(i))}
		data, err := ev.MarshalJSON()
		if err != nil {
			t.Fatal(err)
		}
		return string(data) + "\n", ev
	}
	var old, current strings.Builder
	var httpEvents []event.Event
	for i := range recentEvents + 10 {
		l, ev := line("ziti", i)
		polled, _ := line("polled", i)
		w := &old
		if i >= 20 {
			w = &current
		}
		w.WriteString(l + polled)
		httpEvents = append(httpEvents, ev)
		if i%100 == 0 {
			start, err := encodeRecord(RecordTime, at, nil)
			if err != nil {
				t.Fatal(err)
			}
			w.Write(start)
		}
	}
	for name, content := range map[string]string{OldInputsFile: old.String(), InputsFile: current.String()} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	tail, err := readRecordedTail(dir, func(c string) bool { return c == "ziti" })
	r := tail.ingested
	if err != nil {
		t.Fatal(err)
	}
	want := eventKeys(httpEvents[10:])
	if got := r.keys(); !slices.Equal(got, want) {
		t.Errorf("remembered %d keys, want the latest %d HTTP events' (first remembered is the %dth's: %t)",
			len(got), len(want), 10, len(got) > 0 && got[0] == want[0])
	}
}

// A start reads at most recordedLines lines: behind as many events of other
// clusters, older HTTP events are not read.
func TestRecordedRecentReadsOnlyTheLatestLines(t *testing.T) {
	dir := t.TempDir()
	at := time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC)
	var b strings.Builder
	for i := range recordedLines + 1 {
		cluster := "polled"
		if i == 0 {
			cluster = "ziti" // the oldest, one line too far
		}
		data, err := (event.Event{Cluster: cluster, Source: "c1", Type: event.HasLeader, LeaderID: "c1", Time: at.Add(time.Duration(i))}).MarshalJSON()
		if err != nil {
			t.Fatal(err)
		}
		b.Write(append(data, '\n'))
	}
	if err := os.WriteFile(filepath.Join(dir, InputsFile), []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	tail, err := readRecordedTail(dir, func(c string) bool { return c == "ziti" })
	r := tail.ingested
	if err != nil || len(r.keys()) != 0 {
		t.Errorf("remembered %d keys (err %v), want none: the HTTP event is past the lines read", len(r.keys()), err)
	}
}
