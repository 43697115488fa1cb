package event

import (
	"maps"
	"slices"
	"strings"
	"testing"
	"time"
)

// A member's raft term travels as "term", a leaderhook extension of the
// OpenZiti format: written when known, left out when 0, read when present.
func TestTerm(t *testing.T) {
	in := Event{Source: "etcd1", Time: time.Date(2026, 1, 1, 0, 0, 1, 0, time.UTC), Type: HasLeader, LeaderID: "etcd2", Term: 7}
	data, err := in.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(data), `"term":7`) {
		t.Errorf("no term in %s", data)
	}
	out, err := Decode(data)
	if err != nil || out.Term != 7 {
		t.Errorf("decoded %+v %v, want term 7", out, err)
	}
	if f := in.Fields(); f["term"] != uint64(7) {
		t.Errorf("fields %v, want term 7", f)
	}

	in.Term = 0
	data, _ = in.MarshalJSON()
	if strings.Contains(string(data), "term") {
		t.Errorf("term 0 written: %s", data)
	}
	if _, ok := in.Fields()["term"]; ok {
		t.Errorf("term 0 in the fields: %v", in.Fields())
	}

	for line, want := range map[string]string{
		`{"namespace":"cluster","event_src_id":"a","timestamp":"2026-01-01T00:00:00Z","eventType":"state.rw","term":"7"}`: `"term": got string, want uint64`,
		`{"namespace":"cluster","event_src_id":"a","timestamp":"2026-01-01T00:00:00Z","eventType":"state.rw","term":-1}`:  `"term": got number -1, want uint64`,
	} {
		if _, err := Decode([]byte(line)); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want %q", line, err, want)
		}
	}
}

// FieldNames is every key of a state event's Fields, as the detector
// makes one, so that a template reading another is an error at load.
func TestFieldNamesAreFieldsKeys(t *testing.T) {
	at := time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC)
	e := Event{Source: DetectorSource, Time: at, Type: HasLeader, LeaderID: "c2", PreviousLeaderID: "c1", Cluster: "z",
		Since: at, ChangeKind: ChangeFailover, Members: []string{"c1", "c2"}}
	keys := slices.Sorted(maps.Keys(e.Fields()))
	if !slices.Equal(keys, FieldNames) {
		t.Errorf("Fields has %q, FieldNames says %q", keys, FieldNames)
	}
}

// An event dated on arrival keeps its member's own timestamp, as
// "sent_timestamp" (a leaderhook extension): written when set, read back,
// refused when not RFC 3339, and not among the fields rules see.
func TestSentTimestamp(t *testing.T) {
	at := time.Date(2026, 1, 1, 0, 0, 1, 0, time.UTC)
	in := Event{Source: "c1", Time: at, Sent: at.Add(-time.Minute), Type: Leaderless}
	data, err := in.MarshalJSON()
	if err != nil || !strings.Contains(string(data), `"sent_timestamp":"2025-12-31T23:59:01.000000000Z"`) {
		t.Fatalf("%s %v: no sent_timestamp", data, err)
	}
	if out, err := Decode(data); err != nil || !out.Sent.Equal(in.Sent) || !out.Time.Equal(at) {
		t.Errorf("decoded %+v %v, want sent %s", out, err, in.Sent)
	}
	if _, ok := in.Fields()["sent_timestamp"]; ok {
		t.Errorf("sent_timestamp in the fields: %v", in.Fields())
	}
	in.Sent = time.Time{}
	if data, _ := in.MarshalJSON(); strings.Contains(string(data), "sent_timestamp") {
		t.Errorf("a zero sent_timestamp written: %s", data)
	}
	bad := `{"namespace":"cluster","event_src_id":"c1","timestamp":"2026-01-01T00:00:01Z","sent_timestamp":"yesterday","eventType":"state.is_leaderless"}`
	if _, err := Decode([]byte(bad)); err == nil || !strings.Contains(err.Error(), "sent_timestamp") {
		t.Errorf("a bad sent_timestamp: %v", err)
	}
}
