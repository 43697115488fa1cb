package daemon

import (
	"context"
	"log/slog"
	"slices"
	"time"

	"github.com/leaderhook/leaderhook/detector"
	"github.com/leaderhook/leaderhook/event"
	"github.com/leaderhook/leaderhook/pipeline"
	"github.com/leaderhook/leaderhook/rules"
	"github.com/leaderhook/leaderhook/store"
)

// saveEvery bounds how often a burst of changes is saved: the first change
// after a quiet spell is saved at once, later ones together.
const saveEvery = 50 * time.Millisecond

// heldSaveRetry is how often a save held back by a failing journal, or
// one that failed, is tried again: as often as repairJournal repairs.
const heldSaveRetry = time.Second

// stateStore is where the saver writes: the state directory.
type stateStore interface {
	Save(store.State) error
	CrashSafe() error
}

// saver writes the state to state_dir after changes. The decision
// goroutine only marks the state changed; the saver then asks it for a
// snapshot and writes it, so that no decision waits for the disk and a
// burst of changes costs one write. Deliveries are journaled before their
// firing can be in a snapshot (the dispatcher journals as it queues).
type saver struct {
	store     stateStore
	driver    *pipeline.Driver
	call      func(func()) error // runs with the pipeline held
	positions *positionBook
	stateDir  string
	log       *slog.Logger
	dirty     chan struct{}
	// drain takes the events the sources queued, with the pipeline held;
	// nil where the pipeline does not take them (a group's node).
	drain func()
	// failed counts a save that failed; nil counts nothing.
	failed func()
	// failLogged is when a failed save was last logged: once a minute
	// while they fail, not at each retry.
	failLogged time.Time
}

func newSaver(st stateStore, driver *pipeline.Driver, call func(func()) error, positions *positionBook, stateDir string, log *slog.Logger) *saver {
	return &saver{store: st, driver: driver, call: call, positions: positions, stateDir: stateDir, log: log, dirty: make(chan struct{}, 1)}
}

// changed marks the state as changed; it never blocks.
func (s *saver) changed() {
	select {
	case s.dirty <- struct{}{}:
	default: // a save is pending and will see this change
	}
}

// run saves after changes until ctx ends.
func (s *saver) run(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-s.dirty:
		}
		var st store.State
		if s.call(func() { st = s.current() }) != nil {
			return // shutting down: Run saves the final state
		}
		wait := saveEvery
		if !s.save(st) {
			wait = heldSaveRetry
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
	}
}

// take snapshots the state. Call it with the pipeline held.
func (s *saver) take() store.State {
	return s.takeWith(s.positions.snapshot())
}

// current snapshots the state while the sources run: the files' positions
// first, then the events queued before them are taken, so that a saved
// position is not past events the saved state lacks (a crash would skip
// them), but for the one the pipeline's loop may hold, about to take it.
// Call it with the pipeline held.
func (s *saver) current() store.State {
	files := s.positions.snapshot()
	if s.drain != nil {
		s.drain()
	}
	return s.takeWith(files)
}

func (s *saver) takeWith(files map[string]detector.Position) store.State {
	engine, views := s.driver.Snapshot()
	return store.State{SavedAt: time.Now(), Engine: engine, Views: views, Files: files}
}

// save writes st, unless the delivery journal lacks a pending delivery:
// the state would then record a firing whose delivery a crash loses, and
// the restart would send nothing. The state stays marked changed, to be
// saved once the journal is repaired; and so it does when the write
// fails, or a quiet cluster's firing would not be saved until something
// else changed, and a restart would fire it again. It reports whether it
// saved.
func (s *saver) save(st store.State) bool {
	if s.store.CrashSafe() != nil {
		s.changed()
		return false
	}
	if err := s.store.Save(st); err != nil {
		s.saveFailed(err)
		s.changed()
		return false
	}
	if !s.failLogged.IsZero() {
		s.log.Info("state saved again", "state_dir", s.stateDir)
		s.failLogged = time.Time{}
	}
	return true
}

func (s *saver) saveFailed(err error) {
	if s.failed != nil {
		s.failed()
	}
	if time.Since(s.failLogged) >= time.Minute {
		s.log.Error("cannot save state: trying again every second; a restart meanwhile would not know the latest changes",
			"state_dir", s.stateDir, "err", err)
		s.failLogged = time.Now()
	}
}

// stateView is GET /v1/state: what leaderhook knows of each cluster and
// each rule, as of now. docs/operations.md documents it field by field.
type stateView struct {
	Time       time.Time     `json:"time"`
	Clusters   []clusterView `json:"clusters"`
	QueueDepth int           `json:"queue_depth"`
}

type clusterView struct {
	Name             string       `json:"name"`
	Known            bool         `json:"known"`
	HasLeader        bool         `json:"has_leader"`
	LeaderID         string       `json:"leader_id"`
	PreviousLeaderID string       `json:"previous_leader_id"`
	Since            time.Time    `json:"since,omitzero"`
	Seq              uint64       `json:"seq"`
	MembersUp        int          `json:"members_up"`
	MembersTotal     int          `json:"members_total"`
	QuorumMargin     *int         `json:"quorum_margin"` // nil while no member is known
	WatcherIsolated  bool         `json:"watcher_isolated"`
	SplitBrain       bool         `json:"split_brain"`
	SplitBrainSince  time.Time    `json:"split_brain_since,omitzero"`
	Leaders          []string     `json:"leaders,omitempty"`  // the members that claim the lead
	Expected         *expectView  `json:"expected,omitempty"` // a window of expected changes, while open
	Members          []memberView `json:"members"`
	Rules            []ruleView   `json:"rules"`
}

type memberView struct {
	ID         string    `json:"id"`
	Follows    string    `json:"follows"`
	Down       bool      `json:"down"`
	Unknown    bool      `json:"unknown"`
	Reason     string    `json:"reason,omitempty"`
	LastReport time.Time `json:"last_report,omitzero"`
}

type ruleView struct {
	Name      string    `json:"name"`
	Active    bool      `json:"active"`              // the condition holds
	Firing    bool      `json:"firing"`              // and the rule fired in this episode
	Since     time.Time `json:"since,omitzero"`      // start of the episode, while active
	HeldUntil time.Time `json:"held_until,omitzero"` // a cooldown or mute window holds the firing back
	HeldBy    string    `json:"held_by,omitempty"`   // cooldown or muted
	LastFired time.Time `json:"last_fired,omitzero"`
}

func newRuleView(r rules.RuleSnapshot) ruleView {
	v := ruleView{Name: r.Rule, Active: r.Active, Firing: r.Active && r.Fired, LastFired: r.LastFire}
	if r.Active {
		v.Since, v.HeldUntil = r.Since, r.RetryAt
		if !r.RetryAt.IsZero() {
			v.HeldBy = r.Reason
		}
	}
	return v
}

// view builds the state view. Call it on the decision goroutine.
func (d *Daemon) view() stateView {
	engine, views := d.driver.Snapshot()
	v := stateView{Time: d.opts.Clock.Now(), Clusters: []clusterView{}}
	for _, c := range d.config().Clusters {
		cv := newClusterView(c.Name, views[c.Name], d.driver.Health(c.Name))
		if cv.SplitBrain && d.driver.View(c.Name) != nil {
			cv.SplitBrainSince = d.driver.View(c.Name).Image().SplitSince
		}
		cv.Expected = viewOf(d.driver.Expected(c.Name, v.Time))
		for _, ec := range engine.Clusters {
			if ec.Name != c.Name {
				continue
			}
			cv.Seq = ec.Seq
			for _, r := range ec.Rules {
				cv.Rules = append(cv.Rules, newRuleView(r))
			}
		}
		v.Clusters = append(v.Clusters, cv)
	}
	if d.disp != nil {
		v.QueueDepth = d.disp.QueueDepth()
	}
	return v
}

// quorumMargin is h's, or nil while no member is known: -1 would read as
// a majority lost.
func quorumMargin(h event.Health) *int {
	if h.MembersTotal == 0 {
		return nil
	}
	m := h.QuorumMargin()
	return &m
}

func newClusterView(name string, st detector.State, h event.Health) clusterView {
	cv := clusterView{Name: name, Known: st.Known, HasLeader: st.Known && st.LeaderID != "", LeaderID: st.LeaderID,
		PreviousLeaderID: st.PreviousLeaderID, Since: st.Since, MembersUp: h.MembersUp, MembersTotal: h.MembersTotal,
		QuorumMargin: quorumMargin(h), WatcherIsolated: h.WatcherIsolated, SplitBrain: h.SplitBrain, Leaders: h.LeaderIDs(),
		Members: []memberView{}, Rules: []ruleView{}}
	ids := slices.Clone(st.Members)
	for id := range st.Reports {
		if !slices.Contains(ids, id) {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	for _, id := range ids {
		r := st.Reports[id]
		cv.Members = append(cv.Members, memberView{ID: id, Follows: r.Follows, Down: r.Down, Unknown: r.Unknown, Reason: r.Reason, LastReport: r.Last})
	}
	return cv
}
