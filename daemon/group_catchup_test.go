package daemon

import (
	"context"
	"errors"
	"testing"
	"time"
)

// failingBarrier fails its first fails Barriers, and cancels the leader's
// turn at call cancelAt (0: never).
type failingBarrier struct {
	fails, cancelAt, calls int
	cancel                 context.CancelFunc
}

func (b *failingBarrier) Barrier(time.Duration) error {
	b.calls++
	if b.calls == b.cancelAt {
		b.cancel()
	}
	if b.calls <= b.fails {
		return errors.New("timed out enqueuing operation")
	}
	return nil
}

// A new leader whose barrier fails tries again while it leads: giving up,
// it would lead without dispatching until the next election.
func TestNewLeaderCatchesUpDespiteFailedBarriers(t *testing.T) {
	for _, tc := range []struct {
		name            string
		fails, cancelAt int
		caughtUp        bool
		calls           int
	}{
		{name: "at once", fails: 0, caughtUp: true, calls: 1},
		{name: "after failures", fails: 3, caughtUp: true, calls: 4},
		{name: "no longer leads", fails: 100, cancelAt: 2, caughtUp: false, calls: 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			b := &failingBarrier{fails: tc.fails, cancelAt: tc.cancelAt, cancel: cancel}
			g := &group{log: testLogger(t)}
			if got := g.catchUp(ctx, b, time.Millisecond); got != tc.caughtUp || b.calls != tc.calls {
				t.Errorf("caught up %v after %d barriers, want %v after %d", got, b.calls, tc.caughtUp, tc.calls)
			}
		})
	}
}
