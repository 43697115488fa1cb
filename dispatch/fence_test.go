package dispatch

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/leaderhook/leaderhook/actions"
)

// fenceAct runs deliveries by their rule's name: "run…" until its context
// ends (as a shell action stops its script); "fail…" and "busy…" until then
// too, but end by their own result (a script that exited 1, or 75, as the
// stop came); "retry…" fails its first attempt; anything else succeeds.
type fenceAct struct {
	mu    sync.Mutex
	tries map[string]int
}

func (f *fenceAct) Run(ctx context.Context, n *actions.Notification) (actions.Outcome, error) {
	f.mu.Lock()
	f.tries[n.Rule]++
	try := f.tries[n.Rule]
	f.mu.Unlock()
	switch {
	case strings.HasPrefix(n.Rule, "run"):
		<-ctx.Done()
		return actions.Outcome{}, fmt.Errorf("interrupted: %w", context.Cause(ctx))
	case strings.HasPrefix(n.Rule, "fail"):
		<-ctx.Done()
		return actions.Outcome{}, actions.Permanent(errors.New("failover.sh exited with 1"))
	case strings.HasPrefix(n.Rule, "busy"):
		<-ctx.Done()
		return actions.Outcome{}, errors.New("failover.sh exited with 75")
	case strings.HasPrefix(n.Rule, "retry") && try == 1:
		return actions.Outcome{}, errors.New("exit 75")
	}
	return actions.Outcome{}, nil
}

// byRule lists each rule's audit records as kind[:outcome], the dropped
// and cancelled ones with their reason.
func (a *memAudit) byRule() map[string][]string {
	a.mu.Lock()
	defer a.mu.Unlock()
	out := map[string][]string{}
	for _, r := range a.records {
		s := r.Kind
		if r.Outcome != "" {
			s += ":" + r.Outcome
		}
		if r.Kind == "dropped" || r.Kind == "cancelled" {
			s += " (" + r.Detail + ")"
		}
		out[r.Action+"/"+r.Rule] = append(out[r.Action+"/"+r.Rule], s)
	}
	return out
}

type change struct {
	cluster string
	seq     uint64
}

func fenceNote(rule string, seq uint64) actions.Notification {
	n := note(rule)
	n.Seq = seq
	return n
}

func TestStateChangeFencesDeliveries(t *testing.T) {
	const moved = "cluster c1 moved on to state 2; this delivery was decided for state 1"
	cases := []struct {
		name    string
		fenced  bool // the action has CancelOnChange
		before  []actions.Notification
		changes []change
		after   []actions.Notification // submitted after the changes
		resumed int                    // after: resumed from the journal instead, with this many attempts made (0: submitted)
		want    map[string][]string
	}{
		{"a running delivery is cancelled, the waiting one dropped, the new one runs", true,
			[]actions.Notification{fenceNote("run", 1), fenceNote("ok", 1)}, []change{{"c1", 2}}, []actions.Notification{fenceNote("new", 2)}, 0,
			map[string][]string{
				"fix/run": {"queued", "attempt:cancelled", "cancelled (" + moved + ")"},
				"fix/ok":  {"queued", "dropped (" + moved + ")"},
				"fix/new": {"queued", "attempt:ok", "delivered:ok"},
			}},
		{"an attempt that failed by itself as the state moved on fails, and its on_failure runs", true,
			[]actions.Notification{fenceNote("fail", 1)}, []change{{"c1", 2}}, nil, 0,
			map[string][]string{
				"fix/fail":  {"queued", "attempt:failed", "failed:failed"},
				"page/fail": {"queued", "attempt:ok", "delivered:ok"},
			}},
		{"an attempt that asked for a retry by itself as the state moved on is not retried: dropped", true,
			[]actions.Notification{fenceNote("busy", 1)}, []change{{"c1", 2}}, nil, 0,
			map[string][]string{"fix/busy": {"queued", "attempt:retry", "dropped (" + moved + ")"}}},
		{"a delivery waiting for a retry is dropped; another cluster, an older state and an unknown one change nothing", true,
			[]actions.Notification{fenceNote("retry", 1), fenceNote("unknown", 0)}, []change{{"c2", 5}, {"c1", 1}, {"c1", 2}, {"c1", 1}}, nil, 0,
			map[string][]string{
				"fix/retry":   {"queued", "attempt:retry", "dropped (" + moved + ")"},
				"fix/unknown": {"queued", "attempt:ok", "delivered:ok"},
			}},
		{"without cancel_on_change nothing is fenced", false,
			[]actions.Notification{fenceNote("retry", 1), fenceNote("ok", 1)}, []change{{"c1", 2}}, nil, 0,
			map[string][]string{
				"fix/retry": {"queued", "attempt:retry", "attempt:ok", "delivered:ok"},
				"fix/ok":    {"queued", "attempt:ok", "delivered:ok"},
			}},
		{"a delivery resumed after its state moved on is dropped unrun", true,
			nil, []change{{"c1", 2}}, []actions.Notification{fenceNote("old", 1)}, 1,
			map[string][]string{"fix/old": {"queued", "dropped (" + moved + ")"}}},
		{"a delivery resumed after its state moved on, its attempts spent, is dropped: its on_failure does not run", true,
			nil, []change{{"c1", 2}}, []actions.Notification{fenceNote("old", 1)}, 3,
			map[string][]string{"fix/old": {"queued", "dropped (" + moved + ")"}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				act := &fenceAct{tries: map[string]int{}}
				sp := spec(3, "page")
				sp.Timeout = time.Hour
				d, j, a := setup(map[string]Target{
					"fix":  {Action: act, Spec: sp, CancelOnChange: tc.fenced},
					"page": {Action: &scripted{}, Spec: spec(1)},
				})
				for _, n := range tc.before {
					d.Submit(n, []string{"fix"})
				}
				synctest.Wait()
				for _, c := range tc.changes {
					d.StateChanged(c.cluster, c.seq)
				}
				for _, n := range tc.after {
					if tc.resumed > 0 {
						n.DeliveryID = DeliveryID(&n, "fix")
						d.Resume([]Delivery{{ID: n.DeliveryID, Action: "fix", Notification: n, Attempts: tc.resumed, Unfinished: true}})
					} else {
						d.Submit(n, []string{"fix"})
					}
				}
				synctest.Wait()
				time.Sleep(time.Minute) // past every retry's backoff
				synctest.Wait()
				if got := a.byRule(); !maps.EqualFunc(got, tc.want, slices.Equal) {
					t.Errorf("audit\n got: %v\nwant: %v", got, tc.want)
				}
				if len(j.pending) != 0 {
					t.Errorf("journal still holds %v", slices.Collect(maps.Keys(j.pending)))
				}
				if err := d.Close(context.Background()); err != nil {
					t.Fatal(err)
				}
			})
		})
	}
}

func TestQueueRemoveKeepsOrder(t *testing.T) {
	q := newQueue(0)
	for _, r := range []string{"a1", "b1", "a2", "b2"} {
		q.push(Delivery{ID: r}, func() {})
	}
	q.take() // a1: the head moves on
	got := q.remove(func(del Delivery) bool { return strings.HasPrefix(del.ID, "a") })
	if len(got) != 1 || got[0].ID != "a2" {
		t.Errorf("removed %v, want a2", got)
	}
	for _, want := range []string{"b1", "b2"} {
		if del, _ := q.take(); del.ID != want {
			t.Errorf("took %s, want %s", del.ID, want)
		}
	}
	if q.len() != 0 {
		t.Errorf("%d left", q.len())
	}
}
