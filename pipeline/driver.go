// Package pipeline connects the detector's cluster views to the rules engine
// and drives both through time: on a virtual clock for replay and tests, on
// the real clock for the daemon. It is the one place where the two meet.
package pipeline

import (
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/leaderhook/leaderhook/clock"
	"github.com/leaderhook/leaderhook/detector"
	"github.com/leaderhook/leaderhook/event"
	"github.com/leaderhook/leaderhook/rules"
)

// Sink receives what the pipeline decides, in time order.
type Sink interface {
	// State receives each state event the detector announces.
	State(ev event.Event)
	// Outcome receives each decision of the engine.
	Outcome(o rules.Outcome)
}

// ClusterView configures the view of one cluster.
type ClusterView struct {
	Name            string
	Members         []string
	Stabilize       time.Duration
	SplitBrainAfter time.Duration // 0: detector.DefaultSplitBrainAfter
	Log             *slog.Logger  // where the view warns of sources it ignores; nil: nowhere
}

// newView makes the view c describes.
func newView(c ClusterView) *detector.View {
	v := detector.NewView(c.Name, c.Members, c.Stabilize)
	if c.SplitBrainAfter > 0 {
		v.SetSplitBrainAfter(c.SplitBrainAfter)
	}
	v.SetLogger(c.Log)
	return v
}

// Driver feeds events through the views into the engine. It owns no clock:
// Handle takes each event at its own timestamp, and AdvanceTo lets time pass.
// It is not safe for concurrent use.
type Driver struct {
	engine   *rules.Engine
	views    map[string]*detector.View
	order    []*detector.View
	fallback string // cluster of events that name none
	sink     Sink
	now      time.Time

	// Late counts events older than the driver's clock; they are applied at
	// the current time, since time cannot run backwards.
	Late int
	// Rejected counts events Run could not route to a cluster.
	Rejected int
	// OnChange, if set, is called after each state change or outcome has
	// been handled completely: the moment to save a snapshot.
	OnChange func()
	// OnEvent, if set, sees each event Run receives, as dated, before it
	// is handled; OnAdvance each time Run lets time pass to now, before
	// what is due by then is decided.
	OnEvent   func(event.Event)
	OnAdvance func(now time.Time)
	// MaxSkew bounds, in Run, how far an event's own timestamp may be from
	// the clock when it arrives (0: event.DefaultMaxSkew); beyond it, or
	// behind the driver's clock, the event is dated on arrival. OnSkew, if
	// set, is told of each event dated so for its skew (late: negative).
	MaxSkew time.Duration
	OnSkew  func(ev event.Event, skew time.Duration)
	clock   clock.Clock // of Run
	// mu holds the driver for Run and Call; poke tells Run that a Call
	// may have moved the next deadline.
	mu      sync.Mutex
	poke    chan struct{}
	running bool
	members map[string]bool         // clusters whose members' reports were seen
	health  map[string]event.Health // by cluster, as last told to the engine
	wakeups int                     // turns of Run's loop, to show an idle pipeline sleeps
	// retired are the resolves of the restored firings the config no
	// longer has, until ResolveRetired sends them.
	retired []rules.Outcome
}

// NewDriver returns a driver for the given clusters. Member events that
// carry no cluster name go to fallback.
func NewDriver(engine *rules.Engine, clusters []ClusterView, fallback string, sink Sink) *Driver {
	d := &Driver{engine: engine, views: map[string]*detector.View{}, fallback: fallback, sink: sink, poke: make(chan struct{}, 1), members: map[string]bool{},
		health: map[string]event.Health{}}
	for _, c := range clusters {
		v := newView(c)
		d.views[c.Name] = v
		d.order = append(d.order, v)
	}
	return d
}

// Health returns what the driver last told the engine of a cluster's
// members; before anything was told, what its view says: configured
// members not heard from yet are presumed up.
func (d *Driver) Health(cluster string) event.Health {
	if h, ok := d.health[cluster]; ok {
		return h
	}
	if v := d.views[cluster]; v != nil {
		return v.Health()
	}
	return event.Health{}
}

// View returns the view of a cluster, or nil.
func (d *Driver) View(cluster string) *detector.View { return d.views[cluster] }

// Now returns the driver's clock: the time of the latest event or deadline.
func (d *Driver) Now() time.Time { return d.now }

// Handle processes one event at its timestamp. A member's report goes to
// its cluster's view; a state event recorded by leaderhook itself
// (event_src_id "leaderhook") goes straight to the engine: replay takes
// them from a recording. Live inputs never bring one: they decode with
// event.DecodeLive, which skips them.
func (d *Driver) Handle(ev event.Event) error {
	cluster := ev.Cluster
	if cluster == "" {
		cluster = d.fallback
	}
	v := d.views[cluster]
	if v == nil {
		return fmt.Errorf("event for unknown cluster %q", cluster)
	}
	if ev.Time.Before(d.now) {
		d.Late++
		ev.Time = d.now
	}
	d.AdvanceTo(ev.Time)
	if ev.Source == event.DetectorSource {
		// A recording holds members' reports and the states derived from
		// them; once reports are seen the states are recomputed, not
		// taken twice.
		if d.members[cluster] || (ev.Type != event.HasLeader && ev.Type != event.Leaderless) {
			return nil
		}
		ev.Cluster = cluster
		d.announce(ev)
		return nil
	}
	d.members[cluster] = true
	d.announceAll(v, v.Observe(ev, nil))
	return nil
}

// announceAll tells the engine what changed in a view: first its members'
// health (so that a cluster's first state is evaluated with it), then its
// state events.
func (d *Driver) announceAll(v *detector.View, states []event.Event) {
	if !v.SameHealth(d.health[v.Cluster()]) {
		h := v.Health()
		d.health[v.Cluster()] = h
		for _, o := range d.engine.Health(v.Cluster(), h, d.now, nil) {
			d.sink.Outcome(o)
		}
		d.changed()
	}
	for _, st := range states {
		d.announce(st)
	}
}

// announce tells the sink of a view's announcement. A state goes to the
// engine first, which numbers it (Seq), so that the sink sees it numbered
// before the outcomes it caused; a split brain reaches the rules through
// the cluster's health (split_brain, leaders), not as a state of its own.
func (d *Driver) announce(st event.Event) {
	var outcomes []rules.Outcome
	if st.IsState() {
		outcomes = d.engine.Observe(st, nil)
		st.Seq = d.engine.Seq(st.Cluster)
	}
	d.sink.State(st)
	for _, o := range outcomes {
		d.sink.Outcome(o)
	}
	d.changed()
}

func (d *Driver) changed() {
	if d.OnChange != nil {
		d.OnChange()
	}
}

// Deadline returns the next instant at which time alone changes something.
func (d *Driver) Deadline() (time.Time, bool) {
	at, ok := d.engine.Deadline()
	for _, v := range d.order {
		if t, vok := v.Deadline(); vok && (!ok || t.Before(at)) {
			at, ok = t, true
		}
	}
	return at, ok
}

// AdvanceTo processes every deadline up to and including t, each at its own
// instant.
func (d *Driver) AdvanceTo(t time.Time) {
	for {
		at, ok := d.Deadline()
		if !ok || at.After(t) {
			break
		}
		d.now = at
		// Views first: a state announced at this instant is evaluated with it.
		advanced := false
		for _, v := range d.order {
			if vt, vok := v.Deadline(); vok && !vt.After(at) {
				d.announceAll(v, v.Advance(at, nil))
				advanced = true
			}
		}
		if !advanced {
			outcomes := d.engine.Advance(at, nil)
			for _, o := range outcomes {
				d.sink.Outcome(o)
			}
			if len(outcomes) > 0 {
				d.changed()
			}
		}
	}
	if t.After(d.now) {
		d.now = t
	}
}

// Snapshot returns what must survive a restart: the engine's memory and
// each cluster's announced state.
func (d *Driver) Snapshot() (rules.Snapshot, map[string]detector.State) {
	views := make(map[string]detector.State, len(d.views))
	for name, v := range d.views {
		st := v.State()
		st.Members = append([]string(nil), st.Members...)
		views[name] = st
	}
	return d.engine.Snapshot(), views
}

// Restore loads a snapshot before the first event. Clusters no longer in
// the config are ignored; the firings of rules or clusters it no longer
// has are resolved by ResolveRetired.
func (d *Driver) Restore(engine rules.Snapshot, views map[string]detector.State) {
	// The views first: a rule the engine starts afresh takes the restored
	// health, as well as the restored state, as its baseline.
	for name, st := range views {
		if v := d.views[name]; v != nil {
			v.Restore(st)
			if st.Since.After(d.now) {
				d.now = st.Since
			}
			// Health from the restored reports; members not heard from
			// yet are presumed up.
			d.health[name] = v.Health()
			d.engine.SetHealth(name, d.health[name])
		}
	}
	d.engine.Restore(engine)
	d.retired = d.engine.Retired(d.now, engine, nil) // with the health restored
}

// Resume tells the driver, once restored, that leaderhook starts again
// at now: what the rules missed while it was down is made up once, at now
// (rules.Engine.Resume).
func (d *Driver) Resume(now time.Time) { d.engine.Resume(now) }

// Image is the driver's whole state: what a replicated group's node needs
// to continue exactly where another is.
type Image struct {
	Engine rules.Snapshot            `json:"engine"`
	Views  map[string]detector.Image `json:"views"`
	Now    time.Time                 `json:"now"`
}

// Image returns the driver's whole state.
func (d *Driver) Image() Image {
	img := Image{Engine: d.engine.Snapshot(), Views: make(map[string]detector.Image, len(d.views)), Now: d.now}
	for name, v := range d.views {
		img.Views[name] = v.Image()
	}
	return img
}

// Reset starts the driver over with a fresh engine and views, made what
// img describes: a replicated group's node taking the group's state whole.
func (d *Driver) Reset(engine *rules.Engine, clusters []ClusterView, img Image) {
	d.engine = engine
	d.views = map[string]*detector.View{}
	d.order = nil
	d.health = map[string]event.Health{}
	for _, c := range clusters {
		v := newView(c)
		if vi, ok := img.Views[c.Name]; ok {
			v.LoadImage(vi)
		}
		d.views[c.Name] = v
		d.order = append(d.order, v)
		d.health[c.Name] = v.Health()
		engine.SetHealth(c.Name, d.health[c.Name])
	}
	engine.Restore(img.Engine) // after the health, as Restore does
	d.now = img.Now
	d.members = map[string]bool{}
	d.retired = engine.Retired(d.now, img.Engine, nil)
}

// ResolveRetired sends, at now, the resolves of the firings Restore or
// Reset found for a rule or cluster the config no longer has, as a reload
// that removes them does (Replace): a restart with a changed config must
// not leave their incidents open for good. Time first advances to now.
func (d *Driver) ResolveRetired(now time.Time) {
	if len(d.retired) == 0 {
		return
	}
	d.AdvanceTo(now)
	for _, o := range d.retired {
		o.Time = d.now
		d.sink.Outcome(o)
	}
	d.retired = nil
	d.changed()
}

// Replace swaps in a new engine and cluster set after a config reload. The
// new engine takes over the old one's memory (rules whose decision did
// not change keep their state: rules.Engine.Restore); views of clusters
// still configured are kept, so leaders and outages carry over, and take
// their new members and stabilize period; clusters no longer configured
// are forgotten. Time first advances to now; what the change makes due is
// announced at now.
func (d *Driver) Replace(now time.Time, engine *rules.Engine, clusters []ClusterView) {
	d.AdvanceTo(now)
	retired := d.engine.Retire(now, engine, nil)
	for _, o := range retired {
		d.sink.Outcome(o)
	}
	for _, c := range clusters {
		// The driver resends a cluster's health only when it changes: the
		// new engine must be told what the old one knew, before Restore,
		// for the rules it starts afresh to take it as their baseline.
		if h, ok := d.health[c.Name]; ok && d.views[c.Name] != nil {
			engine.SetHealth(c.Name, h)
		}
	}
	kept := d.engine.Snapshot()
	for i := range kept.Clusters {
		// Every deadline up to now has been met: a quiet cluster's time is
		// now too, the instant rules started afresh take it as it is.
		if kept.Clusters[i].Now.Before(now) {
			kept.Clusters[i].Now = now
		}
	}
	engine.Restore(kept)
	d.engine = engine
	if len(retired) > 0 {
		d.changed()
	}
	old := d.views
	d.views = make(map[string]*detector.View, len(clusters))
	d.order = make([]*detector.View, 0, len(clusters))
	for _, c := range clusters {
		v := old[c.Name]
		if v == nil {
			v = newView(c)
		}
		d.views[c.Name] = v
		d.order = append(d.order, v)
	}
	d.forgetRemoved()
	for _, c := range clusters {
		if old[c.Name] == nil {
			continue
		}
		v := d.views[c.Name]
		if c.SplitBrainAfter > 0 {
			v.SetSplitBrainAfter(c.SplitBrainAfter)
		}
		d.announceAll(v, v.Reconfigure(d.now, c.Members, c.Stabilize, nil))
	}
}

// forgetRemoved drops what the driver remembers of clusters it no longer
// has a view of.
func (d *Driver) forgetRemoved() {
	for name := range d.health {
		if d.views[name] == nil {
			delete(d.health, name)
		}
	}
	for name := range d.members {
		if d.views[name] == nil {
			delete(d.members, name)
		}
	}
}
