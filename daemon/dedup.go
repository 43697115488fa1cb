package daemon

import (
	"crypto/sha256"
	"encoding/hex"
	"strconv"
	"strings"

	"github.com/leaderhook/leaderhook/event"
)

// recentEvents is how many events taken over HTTP the daemon remembers to know a
// duplicate: a batch sent again after a lost answer, or lines read twice.
const recentEvents = 4096

// recent remembers the latest events taken, each as its cluster, member,
// own timestamp (as sent, before dating) and content. Memory stays bounded:
// the oldest is forgotten for each new one. A daemon alone starts with
// the latest of its flight recording (recordedRecent); a group keeps one
// in its replicated state (group.seen), fed the keys its log carries.
type recent struct {
	seen map[string]struct{}
	ring []string
	next int
}

// fresh returns the events of evs not taken already, remembering them.
func (r *recent) fresh(evs []event.Event) []event.Event {
	kept := evs[:0:0]
	for i := range evs {
		if !r.repeat(eventKey(&evs[i])) {
			kept = append(kept, evs[i])
		}
	}
	return kept
}

// repeat reports whether the event of key k (eventKey) was taken already,
// and remembers it if not.
func (r *recent) repeat(k string) bool {
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

// keys returns the keys remembered, oldest first: taken again in this
// order (restoreRecent), they are forgotten in the same order.
func (r *recent) keys() []string {
	if r.seen == nil {
		return nil
	}
	out := make([]string, 0, len(r.seen))
	for i := range recentEvents {
		if k := r.ring[(r.next+i)%recentEvents]; k != "" {
			out = append(out, k)
		}
	}
	return out
}

// restoreRecent remembers keys, oldest first, as keys returned them.
func restoreRecent(keys []string) recent {
	var r recent
	for _, k := range keys {
		r.repeat(k)
	}
	return r
}

// eventKeys returns the key of each of evs.
func eventKeys(evs []event.Event) []string {
	keys := make([]string, len(evs))
	for i := range evs {
		keys[i] = eventKey(&evs[i])
	}
	return keys
}

// eventKey tells a member's report apart: it is the same report when all
// it says and its own timestamp are (a sender's nanosecond timestamps tell
// two reports apart, and one repeated says nothing new), Sent for an event
// dated on arrival. It is a digest, short enough for a group's log entries
// and snapshots.
func eventKey(ev *event.Event) string {
	var b strings.Builder
	for _, s := range []string{ev.Cluster, ev.Source, ev.Type, ev.LeaderID, ev.PreviousLeaderID, ev.Reason, ev.ChangeKind} {
		b.WriteString(strconv.Quote(s))
	}
	sent := ev.Time
	if !ev.Sent.IsZero() {
		sent = ev.Sent
	}
	b.WriteString(strconv.FormatInt(sent.UnixNano(), 10))
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
	sum := sha256.Sum256([]byte(b.String()))
	return hex.EncodeToString(sum[:16])
}
