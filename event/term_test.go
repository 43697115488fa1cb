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

// FieldNames is every key of Fields, so that a template reading another
// is an error at load.
func TestFieldNamesAreFieldsKeys(t *testing.T) {
	at := time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC)
	e := Event{Source: "c1", Time: at, Type: HasLeader, LeaderID: "c2", PreviousLeaderID: "c1", Cluster: "z",
		Since: at, Term: 3, ChangeKind: ChangeFailover, Leaders: []Claim{{ID: "c2", Term: 3}}}
	keys := slices.Sorted(maps.Keys(e.Fields()))
	if !slices.Equal(keys, FieldNames) {
		t.Errorf("Fields has %q, FieldNames says %q", keys, FieldNames)
	}
}
