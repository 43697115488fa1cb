package demo

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/leaderhook/leaderhook/event"
	"github.com/leaderhook/leaderhook/rules"
)

// groupLog is a leaderhook node's log in `demo --ha`: the group's
// decisions (which every node applies, and logs) go to the timeline once,
// and what the node does as the group's leader is told with its name.
// The rest goes to the demo's log at debug level only (errors always).
type groupLog struct {
	h     *haRun
	node  string
	attrs []slog.Attr
	next  slog.Handler
}

func (l *groupLog) Enabled(context.Context, slog.Level) bool { return true }

func (l *groupLog) WithAttrs(attrs []slog.Attr) slog.Handler {
	c := *l
	c.attrs = append(append([]slog.Attr(nil), l.attrs...), attrs...)
	return &c
}

func (l *groupLog) WithGroup(string) slog.Handler { return l }

func (l *groupLog) Handle(ctx context.Context, rec slog.Record) error {
	if rec.Level >= slog.LevelError || l.next.Enabled(ctx, slog.LevelDebug) {
		r := rec.Clone()
		r.AddAttrs(slog.String("leaderhook_node", l.node))
		r.AddAttrs(l.attrs...)
		l.next.Handle(ctx, r)
	}
	a := map[string]slog.Value{}
	for _, at := range l.attrs {
		a[at.Key] = at.Value.Resolve()
	}
	rec.Attrs(func(at slog.Attr) bool {
		a[at.Key] = at.Value.Resolve()
		return true
	})
	h := l.h
	if h.ending.Load() {
		return nil // the nodes stopping at the end
	}
	switch rec.Message {
	case "cluster state":
		ev := event.Event{Time: rec.Time, Cluster: str(a, "cluster"), Type: str(a, "event_type"), LeaderID: str(a, "leader_id"),
			PreviousLeaderID: str(a, "previous_leader_id"), Since: tm(a, "since"), Baseline: a["baseline"].Kind() == slog.KindBool && a["baseline"].Bool()}
		if h.first(fmt.Sprint("state", ev.Type, ev.LeaderID, ev.PreviousLeaderID, ev.Since.UnixNano(), ev.Baseline)) {
			h.out.State(ev)
		}
	case "rule " + rules.Fired, "rule " + rules.Resolved, "rule " + rules.Suppressed:
		// Shown when applied, as states are: the decision's own date is
		// in its key.
		o := rules.Outcome{Time: rec.Time, Cluster: str(a, "cluster"), Rule: str(a, "rule"), Kind: rec.Message[len("rule "):],
			Reason: str(a, "reason"), LeaderID: str(a, "leader_id"), Trigger: str(a, "trigger")}
		if v, ok := a["leaderless_for"]; ok && v.Kind() == slog.KindDuration {
			o.LeaderlessFor = v.Duration()
			o.Leaderless = o.LeaderlessFor > 0
		}
		if v, ok := a["actions"]; ok {
			o.Actions, _ = v.Any().([]string)
		}
		if h.first(fmt.Sprint("outcome", o.Kind, o.Rule, tm(a, "at").UnixNano())) {
			h.out.Outcome(o)
		}
	case "this node leads the group":
		h.mu.Lock()
		h.result.Leads = append(h.result.Leads, GroupLead{Node: l.node, At: rec.Time})
		h.mu.Unlock()
		h.print("👑", "%s leads the leaderhook group: it caught up with the group's log and delivers from now on", l.node)
	case "this node no longer leads the group":
		h.print("👑", "%s no longer leads the leaderhook group", l.node)
	case "dispatching the deliveries still pending":
		h.print("👑", "%s dispatches the %d deliveries still pending, with their ids", l.node, a["count"].Int64())
	default:
		if rec.Level >= slog.LevelWarn && rec.Message != "raft" && rec.Message != "events wait for the group" {
			h.print("⚠", "%s: %s", l.node, rec.Message)
		}
	}
	return nil
}

// first reports whether key is seen for the first time.
func (h *haRun) first(key string) bool {
	h.seenMu.Lock()
	defer h.seenMu.Unlock()
	if h.seen[key] {
		return false
	}
	h.seen[key] = true
	return true
}

func str(a map[string]slog.Value, key string) string {
	if v, ok := a[key]; ok {
		return v.String()
	}
	return ""
}

func tm(a map[string]slog.Value, key string) time.Time {
	if v, ok := a[key]; ok && v.Kind() == slog.KindTime {
		return v.Time()
	}
	return time.Time{}
}
