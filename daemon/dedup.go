package daemon

import (
	"strconv"
	"strings"

	"github.com/leaderhook/leaderhook/event"
)

// recentEvents is how many events taken over HTTP the daemon remembers to know a
// duplicate: a batch sent again after a lost answer, or lines read twice.
const recentEvents = 4096

// recent remembers the latest events taken, each as its cluster, member,
// own timestamp (as sent, before dating) and content. Memory stays bounded:
// the oldest is forgotten for each new one.
type recent struct {
	seen map[string]struct{}
	ring []string
	next int
}

// fresh returns the events of evs not taken already, remembering them.
func (r *recent) fresh(evs []event.Event) []event.Event {
	kept := evs[:0:0]
	for i := range evs {
		if !r.repeat(&evs[i]) {
			kept = append(kept, evs[i])
		}
	}
	return kept
}

// repeat reports whether ev was taken already, and remembers it if not. A
// member's report is the same report when all it says and its own
// timestamp are: a sender's nanosecond timestamps tell two reports apart,
// and one repeated says nothing new.
func (r *recent) repeat(ev *event.Event) bool {
	k := eventKey(ev)
	if _, ok := r.seen[k]; ok {
		return true
	}
	if r.seen == nil {
		r.seen, r.ring = make(map[string]struct{}, recentEvents), make([]string, recentEvents)
	}
	if old := r.ring[r.next]; old != "" {
		delete(r.seen, old)
	}
	r.ring[r.next] = k
	r.next = (r.next + 1) % recentEvents
	r.seen[k] = struct{}{}
	return false
}

func eventKey(ev *event.Event) string {
	var b strings.Builder
	for _, s := range []string{ev.Cluster, ev.Source, ev.Type, ev.LeaderID, ev.PreviousLeaderID, ev.Reason, ev.ChangeKind} {
		b.WriteString(strconv.Quote(s))
	}
	b.WriteString(strconv.FormatInt(ev.Time.UnixNano(), 10))
	b.WriteByte(' ')
	b.WriteString(strconv.FormatUint(ev.Index, 10))
	b.WriteByte(' ')
	b.WriteString(strconv.FormatUint(ev.Term, 10))
	b.WriteString(strconv.FormatBool(ev.Baseline))
	for _, list := range [][]string{ev.Peers, ev.Members} {
		b.WriteByte('[')
		for _, p := range list {
			b.WriteString(strconv.Quote(p))
		}
	}
	for _, c := range ev.Leaders {
		b.WriteString(strconv.Quote(c.ID))
		b.WriteString(strconv.FormatUint(c.Term, 10))
	}
	return b.String()
}
