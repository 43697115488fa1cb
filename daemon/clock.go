package daemon

import (
	"time"

	"github.com/leaderhook/leaderhook/dispatch"
	"github.com/leaderhook/leaderhook/event"
	"github.com/leaderhook/leaderhook/rules"
	"github.com/leaderhook/leaderhook/store"
)

// skewed is told, on the decision goroutine, of an event dated on arrival
// because its own timestamp was too far from the clock: it is counted, and
// logged once a minute per member.
func (d *Daemon) skewed(ev event.Event, skew time.Duration) {
	d.metrics.Skewed(ev)
	key := ev.Cluster + "\x00" + ev.Source
	if last, ok := d.skewLogged[key]; ok && d.opts.Clock.Now().Sub(last) < time.Minute {
		return
	}
	if d.skewLogged == nil {
		d.skewLogged = map[string]time.Time{}
	}
	d.skewLogged[key] = d.opts.Clock.Now()
	d.log.Warn("event dated on arrival: its timestamp is too far from leaderhook's clock (is the member's clock right?)",
		"cluster", ev.Cluster, "source", ev.Source, "skew", skew.Round(time.Millisecond).String(), "max_clock_skew", d.driver.MaxSkew.String())
}

// restore loads the saved state into the driver, leaving out what is
// dated ahead of the clock by more than the skew allows: a view saved
// from the future (by a version that trusted a member's clock) would keep
// the daemon blind to real losses until that time came. It returns what
// it loaded. What the rules missed while the daemon was down is made up
// once, at now (rules.Engine.Resume).
func (d *Daemon) restore(saved store.State, now time.Time) RecordedState {
	limit := now.Add(d.config().ClockSkew())
	for name, v := range saved.Views {
		if v.Since.After(limit) {
			d.log.Warn("saved view not trusted: it is dated in the future; the cluster's state is learned again", "cluster", name, "since", v.Since)
			delete(saved.Views, name)
		}
	}
	dropFuture(&saved.Engine, limit)
	d.driver.Restore(saved.Engine, saved.Views)
	d.driver.Resume(now)
	return RecordedState{Engine: saved.Engine, Views: saved.Views}
}

// dropFuture leaves out the clusters of s dated after limit. Each keeps
// its state number as a floor: its state is learned again, numbered past
// what scripts have seen, so that cancel_on_change does not take the new
// states for old ones.
func dropFuture(s *rules.Snapshot, limit time.Time) {
	var kept, dropped []rules.ClusterSnapshot
	for _, c := range s.Clusters {
		if c.Now.After(limit) {
			dropped = append(dropped, c)
		} else {
			kept = append(kept, c)
		}
	}
	s.Clusters = kept
	for _, c := range dropped {
		s.RaiseSeq(c.Name, max(c.Seq, c.State.Seq))
	}
}

// raiseSeq makes each saved cluster's state number at least that of its
// journaled deliveries: the journal is written as a delivery is decided,
// the state a moment later, and a crash in between must not give a later
// state a number a script has already seen. A cluster the saved state
// lacks (the crash came before its first save; the engine learns clusters
// as their states come) gets a floor its first state is numbered past.
func raiseSeq(saved *rules.Snapshot, pending []dispatch.Delivery) {
	for _, del := range pending {
		saved.RaiseSeq(del.Notification.Cluster, del.Notification.Seq)
	}
}

// fenceSaved tells the dispatcher each cluster's saved state before the
// journal's deliveries resume: one decided for a state the saved one has
// replaced is fenced off (cancel_on_change) as if it had waited through
// the change.
func fenceSaved(disp *dispatch.Dispatcher, clusters []rules.ClusterSnapshot) {
	for _, c := range clusters {
		disp.StateChanged(c.Name, c.Seq)
	}
}
