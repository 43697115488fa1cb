package detector

import (
	"reflect"
	"testing"
	"time"

	"github.com/leaderhook/leaderhook/event"
)

// FuzzView feeds a view any sequence of members' reports and lets time
// pass between them: every deadline it gives must move on once reached
// (else a driver loops at it), what it announces comes in time order, and
// SameHealth agrees with Health.
func FuzzView(f *testing.F) {
	f.Add([]byte{0, 0, 1, 5, 1, 0, 1, 5, 2, 0, 1, 5, 1, 1, 2, 10, 2, 1, 2, 10, 0, 2, 1, 50})
	f.Add([]byte{0, 0, 1, 5, 1, 0, 1, 5, 2, 0, 1, 5, 0, 3, 1, 1, 1, 1, 2, 1, 2, 1, 2, 1})
	f.Add([]byte{0, 0, 1, 0, 1, 0, 1, 0, 2, 0, 1, 0, 0, 4, 0, 9, 1, 5, 2, 9, 1, 6, 1, 200})
	members := []string{"a", "b", "c"}
	f.Fuzz(func(t *testing.T, data []byte) {
		start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
		v := NewView("c", members, 2*time.Second)
		v.SetSplitBrainAfter(3 * time.Second)
		now := start
		var out []event.Event
		settle := func(until time.Time) {
			for i := 0; ; i++ {
				d, ok := v.Deadline()
				if !ok || d.After(until) {
					return
				}
				if i > 100 {
					t.Fatalf("the deadline %s does not move on (now %s)", d.Sub(start), v.now.Sub(start))
				}
				out = v.Advance(d, out)
			}
		}
		for len(data) >= 4 {
			src, kind, arg, gap := members[int(data[0])%3], data[1]%6, data[2], data[3]
			data = data[4:]
			now = now.Add(time.Duration(gap) * 50 * time.Millisecond)
			settle(now)
			ev := event.Event{Source: src, Time: now, Term: uint64(arg % 4)}
			switch kind {
			case 0:
				ev.Type, ev.LeaderID = event.HasLeader, members[int(arg)%3]
			case 1:
				ev.Type = event.Leaderless
			case 2:
				ev.Type, ev.Peers, ev.Term = event.PeerDisconnected, []string{members[int(arg)%3]}, 0
			case 3:
				ev.Type, ev.Term = event.MemberDown, 0
			case 4:
				ev.Type, ev.Term = event.MemberUnknown, 0
			default:
				ev.Type, ev.Peers, ev.Term = event.PeerConnected, []string{members[int(arg)%3]}, 0
			}
			before := v.Health()
			out = v.Observe(ev, out)
			after := v.Health()
			if !v.SameHealth(after) || v.SameHealth(before) != reflect.DeepEqual(before, after) {
				t.Fatalf("SameHealth disagrees with Health: before %+v, after %+v", before, after)
			}
		}
		settle(now.Add(time.Minute))
		for i := 1; i < len(out); i++ {
			if out[i].Time.Before(out[i-1].Time) {
				t.Fatalf("announced out of order: %s then %s", out[i-1], out[i])
			}
		}
	})
}
