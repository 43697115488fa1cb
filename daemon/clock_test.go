package daemon

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/leaderhook/leaderhook/actions"
	"github.com/leaderhook/leaderhook/dispatch"
	"github.com/leaderhook/leaderhook/rules"
)

func TestRaiseSeqFromTheJournal(t *testing.T) {
	pending := func(cluster string, seq uint64) dispatch.Delivery {
		return dispatch.Delivery{Notification: actions.Notification{Cluster: cluster, Seq: seq}}
	}
	cases := []struct {
		name      string
		saved     uint64 // c1's; the saved state lacks c2
		pending   []dispatch.Delivery
		want      uint64
		wantFloor uint64 // c2's
	}{
		{"nothing pending", 4, nil, 4, 0},
		{"a delivery decided after the last save", 4, []dispatch.Delivery{pending("c1", 3), pending("c1", 6)}, 6, 0},
		{"older deliveries", 4, []dispatch.Delivery{pending("c1", 2)}, 4, 0},
		{"a cluster decided on before its first save", 4, []dispatch.Delivery{pending("c2", 2), pending("c2", 9), pending("c2", 5)}, 4, 9},
	}
	for _, tc := range cases {
		saved := rules.Snapshot{Clusters: []rules.ClusterSnapshot{{Name: "c1", Seq: tc.saved}}}
		raiseSeq(&saved, tc.pending)
		if saved.Clusters[0].Seq != tc.want || saved.SeqFloor["c2"] != tc.wantFloor {
			t.Errorf("%s: c1's seq %d, c2's floor %d; want %d, %d", tc.name, saved.Clusters[0].Seq, saved.SeqFloor["c2"], tc.want, tc.wantFloor)
		}
	}
}

type recordedKinds struct {
	mu    sync.Mutex
	kinds map[string][]string // by rule
}

func (r *recordedKinds) Record(rec dispatch.Record) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.kinds[rec.Rule] = append(r.kinds[rec.Rule], rec.Kind)
}

type succeed struct{}

func (succeed) Run(context.Context, *actions.Notification) (actions.Outcome, error) {
	return actions.Outcome{}, nil
}

// A journaled delivery decided for a state the saved one has replaced is
// dropped when it resumes; one for the saved state runs.
func TestResumedDeliveriesAreFencedToTheSavedState(t *testing.T) {
	audit := &recordedKinds{kinds: map[string][]string{}}
	spec := actions.Spec{Type: "shell", Timeout: time.Minute, Retry: actions.Retry{MaxAttempts: 1}}
	disp := dispatch.New(dispatch.Options{Audit: audit, Targets: map[string]dispatch.Target{
		"fix": {Action: succeed{}, Spec: spec, CancelOnChange: true}}})
	fenceSaved(disp, []rules.ClusterSnapshot{{Name: "c1", Seq: 3}, {Name: "old", Seq: 0}})
	var resume []dispatch.Delivery
	for _, n := range []actions.Notification{{Rule: "outdated", Cluster: "c1", Seq: 2}, {Rule: "current", Cluster: "c1", Seq: 3}} {
		resume = append(resume, dispatch.Delivery{ID: n.Rule, Action: "fix", Notification: n})
	}
	disp.Resume(resume)
	if err := disp.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"outdated": "queued dropped", "current": "queued attempt delivered"}
	for rule, kinds := range want {
		if got := fmt.Sprint(audit.kinds[rule]); got != "["+kinds+"]" {
			t.Errorf("%s: %s, want [%s]", rule, got, kinds)
		}
	}
}

// A saved cluster dated in the future is left out, but its state number is
// kept as a floor: its next state is numbered past what scripts have seen,
// so cancel_on_change does not fence every new delivery off as old.
func TestDropFutureKeepsTheStateNumber(t *testing.T) {
	now := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	s := rules.Snapshot{Clusters: []rules.ClusterSnapshot{
		{Name: "ahead", Now: now.Add(time.Hour), Seq: 7},
		{Name: "kept", Now: now.Add(-time.Hour), Seq: 3},
	}}
	dropFuture(&s, now)
	if len(s.Clusters) != 1 || s.Clusters[0].Name != "kept" || s.SeqFloor["ahead"] != 7 || s.SeqFloor["kept"] != 0 {
		t.Errorf("clusters %+v, floors %v; want kept alone, ahead's number 7 as its floor", s.Clusters, s.SeqFloor)
	}
}
