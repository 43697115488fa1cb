package main

import (
	"context"
	"slices"
	"sync"
	"time"
)

// watcher is etcd's own view, the reference: it asks every member for its
// status every interval and keeps each change of what a member says.
type watcher struct {
	c        *cluster
	interval time.Duration

	mu   sync.Mutex
	seen []sighting
	last map[string]string // member → what it last said
}

// sighting is a member's answer, stamped when it arrived: the leader's
// name, "" for no leader, or unreachable.
type sighting struct {
	At          time.Time
	Member      string
	Leader      string
	Unreachable bool
}

const unreachable = "\x00unreachable"

func watch(ctx context.Context, c *cluster, interval time.Duration) *watcher {
	w := &watcher{c: c, interval: interval, last: map[string]string{}}
	for _, m := range c.members {
		go w.poll(ctx, m)
	}
	return w
}

func (w *watcher) poll(ctx context.Context, m *member) {
	for ctx.Err() == nil {
		asked := time.Now()
		st, err := w.c.status(ctx, m)
		said := unreachable
		if err == nil {
			said = w.c.nameOf(st.leader())
		}
		w.note(m.name, said)
		if pause(ctx, w.interval-time.Since(asked)) != nil {
			return
		}
	}
}

func (w *watcher) note(member, said string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if last, ok := w.last[member]; ok && last == said {
		return
	}
	w.last[member] = said
	s := sighting{At: time.Now(), Member: member, Leader: said}
	if said == unreachable {
		s.Leader, s.Unreachable = "", true
	}
	w.seen = append(w.seen, s)
}

// first returns when one of members first said what match accepts, in
// [from, until) (until zero: no end); zero if none did.
func (w *watcher) first(from, until time.Time, members []string, match func(sighting) bool) time.Time {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, s := range w.seen {
		if !s.At.Before(from) && (until.IsZero() || s.At.Before(until)) && slices.Contains(members, s.Member) && match(s) {
			return s.At
		}
	}
	return time.Time{}
}
