package dispatch

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/leaderhook/leaderhook/actions"
)

// statusLog is an Action that answers from a script by status, and keeps
// what it was sent: "firing", "resolved", with " failure" when the
// message says which delivery failed for good.
type statusLog struct {
	mu   sync.Mutex
	fail map[string]bool // by status: fail for good
	seen []string
	ids  []string
}

func (s *statusLog) Run(_ context.Context, n *actions.Notification) (actions.Outcome, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	got := n.Status
	if n.Failure.Action != "" {
		got += " failure"
	}
	s.seen, s.ids = append(s.seen, got), append(s.ids, n.DeliveryID)
	if s.fail[n.Status] {
		return actions.Outcome{}, actions.Permanent(errors.New("400 bad request"))
	}
	return actions.Outcome{}, nil
}

func (s *statusLog) got() ([]string, []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.seen), slices.Clone(s.ids)
}

// The fallbacks that a firing's failure ran are sent its resolve too,
// once, with an id of its own, whether the resolve to the action itself
// succeeds or fails; a fallback that never got the firing gets no resolve
// unless the resolve itself fails; a resolve fenced off by a newer state
// (cancel_on_change) still reaches them; a restart in between (a new
// dispatcher with the same memory) forgets nothing.
func TestFallbacksOfAFiringGetItsResolve(t *testing.T) {
	cases := []struct {
		name    string
		fail    map[string]bool // the hook's answers, by status
		restart bool            // a new dispatcher for the resolve
		stale   bool            // the resolve is fenced off (cancel_on_change)
		want    []string        // what the fallback got
	}{
		{"firing failed, resolve delivered", map[string]bool{"firing": true}, false, false, []string{"firing failure", "resolved"}},
		{"firing failed, restart, resolve delivered", map[string]bool{"firing": true}, true, false, []string{"firing failure", "resolved"}},
		{"firing failed, resolve fenced off", map[string]bool{"firing": true}, false, true, []string{"firing failure", "resolved"}},
		{"both failed", map[string]bool{"firing": true, "resolved": true}, false, false, []string{"firing failure", "resolved failure"}},
		{"firing delivered, resolve delivered", nil, false, false, nil},
		{"firing delivered, resolve failed", map[string]bool{"resolved": true}, false, false, []string{"resolved failure"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				memory, _ := actions.OpenMemory("", FallbackMemory)
				hook, pd := &statusLog{fail: tc.fail}, &statusLog{}
				targets := map[string]Target{"hook": {Action: hook, Spec: spec(1, "pd"), CancelOnChange: tc.stale}, "pd": {Action: pd, Spec: spec(1)}}
				j := &memJournal{pending: map[string]Delivery{}}
				d := New(Options{Targets: targets, Journal: j, Fallbacks: memory})
				firing := note("lost")
				firing.Episode = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
				firing.FiredAt = firing.Episode
				d.Submit(firing, []string{"hook"})
				synctest.Wait()
				if tc.restart {
					d.Close(context.Background())
					d = New(Options{Targets: targets, Journal: j, Fallbacks: memory})
				}
				resolve := firing
				resolve.Status, resolve.FiredAt = actions.StatusResolved, firing.FiredAt.Add(time.Minute)
				hookWant := []string{"firing", "resolved"}
				if tc.stale {
					resolve.Seq = 1
					d.StateChanged("c1", 2)
					hookWant = hookWant[:1]
				}
				d.Submit(resolve, []string{"hook"})
				synctest.Wait()
				d.Close(context.Background())

				if got, _ := hook.got(); !slices.Equal(got, hookWant) {
					t.Errorf("the hook got %q, want %q", got, hookWant)
				}
				got, ids := pd.got()
				if !slices.Equal(got, tc.want) {
					t.Errorf("the fallback got %q, want %q", got, tc.want)
				}
				if len(ids) == 2 && ids[0] == ids[1] {
					t.Errorf("the firing and the resolve share the delivery id %s", ids[0])
				}
				if len(j.pending) != 0 {
					t.Errorf("journal still holds %v", j.pending)
				}
				memory.Each(func(key string, _ json.RawMessage) { t.Errorf("the memory still holds %q", key) })
			})
		})
	}
}

// A resolve that a newer state drops from its queue (cancel_on_change)
// while its firing still runs ends with that firing: when the firing then
// fails by its own result and its on_failure runs, the fallback gets the
// resolve too.
func TestResolveDroppedWhileItsFiringRunsReachesTheFiringsFallbacks(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		act := &fenceAct{tries: map[string]int{}}
		chat := &statusLog{}
		s := patient()
		s.OnFailure = []string{"chat"}
		memory, _ := actions.OpenMemory("", FallbackMemory)
		j, a := &memJournal{pending: map[string]Delivery{}}, &memAudit{}
		d := New(Options{Journal: j, Audit: a, Fallbacks: memory, Targets: map[string]Target{
			"script": {Action: act, Spec: s, CancelOnChange: true},
			"chat":   {Action: chat, Spec: spec(1)},
		}})
		firing := fenceNote("fail", 1) // fails by itself as it is stopped
		d.Submit(firing, []string{"script"})
		synctest.Wait() // the firing runs
		resolve := fenceNote("fail", 2)
		resolve.Status, resolve.FiredAt = actions.StatusResolved, firing.FiredAt.Add(time.Second)
		d.Submit(resolve, []string{"script"})
		d.StateChanged("c1", 3)
		synctest.Wait()
		d.Close(context.Background())
		if seen, _ := chat.got(); !slices.Equal(seen, []string{"firing failure", "resolved"}) {
			t.Errorf("the fallback got %q, want [firing failure resolved]", seen)
		}
		if got, want := a.kinds("script"), []string{"queued", "queued", "attempt:failed", "failed:failed", "dropped"}; !slices.Equal(got, want) {
			t.Errorf("audit %q, want %q", got, want)
		}
		if len(j.pending) != 0 {
			t.Errorf("journal still holds %v", j.pending)
		}
		memory.Each(func(key string, _ json.RawMessage) { t.Errorf("the memory still holds %q", key) })
	})
}
