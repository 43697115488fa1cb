package daemon

import (
	"net/http/httptest"
	"testing"
	"time"

	"github.com/leaderhook/leaderhook/clock"
	"github.com/leaderhook/leaderhook/event"
)

// shiftedClock is the real clock moved by off: a restart days later.
type shiftedClock struct{ off time.Duration }

func (c shiftedClock) Now() time.Time                       { return time.Now().Add(c.off) }
func (c shiftedClock) NewTimer(d time.Duration) clock.Timer { return clock.Real{}.NewTimer(d) }

// A restart three days after a rule that repeats every minute began firing
// repeats it once, not once per minute missed: the daemon alone, and a
// group whose every node was down.
func TestRestartDaysLaterRepeatsOnce(t *testing.T) {
	const repeating = "  - {name: lost, when: leaderless, repeat: 1m, actions: [hook]}\n"
	for _, inGroup := range []bool{false, true} {
		name := "alone"
		if inGroup {
			name = "in a group"
		}
		t.Run(name, func(t *testing.T) {
			recv := &receiver{}
			srv := httptest.NewServer(recv)
			t.Cleanup(srv.Close)
			h := newHarness(t, retireConfig, map[string]any{"Hook": srv.URL, "DB": false, "HA": "", "Rules": repeating})
			if inGroup {
				h.vars["HA"] = oneNodeGroup(t, h.dir)
				h.write(nil)
			}
			h.start(Options{})
			h.post("/v1/events?cluster=ziti", "", ev("c1", event.HasLeader, "c1"))
			h.post("/v1/events?cluster=ziti", "", ev("c1", event.Leaderless, ""))
			waitFor(t, "the firing", func() bool { return recv.received("lost", "firing") == 1 })
			if err := h.stop(); err != nil {
				t.Fatal(err)
			}

			h.start(Options{Clock: shiftedClock{off: 72 * time.Hour}, DrainTimeout: 10 * time.Second})
			waitFor(t, "the repeat after the restart", func() bool { return recv.received("lost", "firing") >= 2 })
			// Stopping delivers what is queued: the repeats a restart
			// wrongly made up would all arrive.
			if err := h.stop(); err != nil {
				t.Fatal(err)
			}
			if n := recv.received("lost", "firing"); n != 2 {
				t.Errorf("%d firings of lost, want 2 (the first, and one repeat at the restart)", n)
			}
		})
	}
}
