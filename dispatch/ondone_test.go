package dispatch

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/leaderhook/leaderhook/actions"
)

// OnDone hears of each delivery's end, after the journal: success, failure
// for good (after its fallbacks started) and each fallback's own end; not
// of a delivery a shutdown interrupted.
func TestOnDone(t *testing.T) {
	failed := actions.Permanent(errors.New("400 bad request"))
	cases := []struct {
		name  string
		hook  *scripted
		close time.Duration // Close after this long (0: let everything end)
		want  []string      // "action ok|failed[ fallback]"
	}{
		{"delivered", &scripted{answers: []error{errors.New("502")}}, 0, []string{"hook ok"}},
		{"failed for good, then its fallback", &scripted{answers: []error{failed}}, 0, []string{"hook failed", "chat ok fallback"}},
		{"interrupted by a shutdown", &scripted{block: true}, 5 * time.Second, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				var mu sync.Mutex
				var got []string
				j := &memJournal{pending: map[string]Delivery{}}
				s := spec(3, "chat")
				s.Timeout = time.Hour
				d := New(Options{Targets: map[string]Target{"hook": {Action: tc.hook, Spec: s}, "chat": {Action: &scripted{}, Spec: spec(1)}},
					Journal: j, OnDone: func(del Delivery, ok bool) {
						j.mu.Lock()
						_, pending := j.pending[del.ID]
						j.mu.Unlock()
						mu.Lock()
						defer mu.Unlock()
						got = append(got, fmt.Sprintf("%s %s", del.Action, map[bool]string{true: "ok", false: "failed"}[ok]))
						if del.Fallback {
							got[len(got)-1] += " fallback"
						}
						if pending {
							t.Errorf("OnDone(%s) before the journal's Done", del.Action)
						}
					}})
				d.Submit(note("r"), []string{"hook"})
				ctx := context.Background()
				if tc.close > 0 {
					var cancel context.CancelFunc
					ctx, cancel = context.WithTimeout(ctx, tc.close)
					defer cancel()
				} else {
					time.Sleep(time.Minute)
					synctest.Wait()
				}
				d.Close(ctx)
				mu.Lock()
				defer mu.Unlock()
				// A fallback runs beside the end of the delivery it
				// replaces: the two ends come in either order.
				slices.Sort(got)
				slices.Sort(tc.want)
				if !slices.Equal(got, tc.want) {
					t.Errorf("OnDone heard %q, want %q", got, tc.want)
				}
			})
		})
	}
}
