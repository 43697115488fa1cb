package pipeline

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/leaderhook/leaderhook/actions"
	"github.com/leaderhook/leaderhook/event"
	"github.com/leaderhook/leaderhook/rules"
)

// recorder is a Sink that keeps everything.
type recorder struct {
	states   []event.Event
	outcomes []rules.Outcome
	seen     []uint64 // per outcome, the Seq of the last state the sink had seen
}

func (r *recorder) State(ev event.Event) { r.states = append(r.states, ev) }
func (r *recorder) Outcome(o rules.Outcome) {
	r.outcomes = append(r.outcomes, o)
	var seq uint64
	if len(r.states) > 0 {
		seq = r.states[len(r.states)-1].Seq
	}
	r.seen = append(r.seen, seq)
}

func (r *recorder) fired(rule string) []rules.Outcome {
	var out []rules.Outcome
	for _, o := range r.outcomes {
		if o.Rule == rule && o.Kind == rules.Fired {
			out = append(out, o)
		}
	}
	return out
}

// replayOpenZiti1 replays the real recording of a 3-controller OpenZiti
// cluster (testdata/openziti-1, see its README for what happened when).
func replayOpenZiti1(t *testing.T, rs []rules.Rule) *recorder {
	t.Helper()
	engine, err := rules.New(rules.Options{Rules: rs})
	if err != nil {
		t.Fatal(err)
	}
	rec := &recorder{}
	d := NewDriver(engine, []ClusterView{{Name: "ziti", Stabilize: 2 * time.Second}}, "ziti", rec)
	var sources []event.Source
	for _, n := range []string{"1", "2", "3"} {
		name := filepath.Join("..", "testdata", "openziti-1", "events-ctrl"+n+".jsonl")
		f, err := os.Open(name)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { f.Close() })
		r := event.NewReader(f, name, 0)
		r.OnError = func(e *event.LineError) { t.Errorf("fixture line rejected: %v", e) }
		sources = append(sources, r)
	}
	m := event.Merge(sources...)
	for {
		ev, err := m.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if err := d.Handle(ev); err != nil {
			t.Fatal(err)
		}
	}
	if d.Late != 0 {
		t.Errorf("%d events applied late", d.Late)
	}
	return rec
}

func at(hms string) time.Time {
	t, err := time.Parse(time.RFC3339Nano, "2026-11-24T"+hms+"Z")
	if err != nil {
		panic(err)
	}
	return t
}

var openziti1Rules = []rules.Rule{
	{Name: "gone-20s", When: `leaderless_for >= duration("20s")`, Actions: []string{"note"}},
	{Name: "gone-60s", When: `type == "state.is_leaderless" && leaderless_for >= duration("60s")`, Actions: []string{"note"}},
	{Name: "changed", When: `type == "state.has_leader" && previous_leader_id != "" && leader_id != previous_leader_id`, Actions: []string{"note"}},
	{Name: "flap", When: `leader_changes(duration("1m")) >= 3`, Actions: []string{"note"}, Cooldown: 5 * time.Minute},
}

func TestOpenZiti1ClusterView(t *testing.T) {
	rec := replayOpenZiti1(t, openziti1Rules)
	var got []string
	for _, ev := range rec.states {
		s := fmt.Sprintf("%s %s %s prev=%s since=%s", ev.Time.Format("15:04:05.000"), ev.Type, ev.LeaderID, ev.PreviousLeaderID, ev.Since.Format("15:04:05.000"))
		if ev.Baseline {
			s += " baseline"
		}
		got = append(got, s)
	}
	// Ground truth (testdata/openziti-1/README.md): ctrl1 elected 13:55:52.59;
	// R1 kill 57.1 → ctrl3 04.06; R2 kill 10.93 → ctrl2 15.95; R3 kill 22.74 →
	// ctrl1 29.54; QL1 kill 36.36 → ctrl3 57:10.40; QL2 kill 57:19.55 → ctrl3
	// 58:37.03. Losses are dated from the survivors' peer.disconnected, within
	// milliseconds of the kill; restart blips (e.g. ctrl1 at 56:05.66, ctrl2
	// at 56:31.22) change nothing.
	want := []string{
		"13:55:52.499 state.is_leaderless  prev= since=13:55:50.499 baseline",
		"13:55:52.590 state.has_leader ctrl1 prev= since=13:55:52.590",
		"13:55:59.122 state.is_leaderless  prev=ctrl1 since=13:55:57.122",
		"13:56:04.061 state.has_leader ctrl3 prev=ctrl1 since=13:56:04.061",
		"13:56:12.946 state.is_leaderless  prev=ctrl3 since=13:56:10.946",
		"13:56:15.949 state.has_leader ctrl2 prev=ctrl3 since=13:56:15.949",
		"13:56:24.758 state.is_leaderless  prev=ctrl2 since=13:56:22.758",
		"13:56:29.544 state.has_leader ctrl1 prev=ctrl2 since=13:56:29.544",
		"13:56:38.379 state.is_leaderless  prev=ctrl1 since=13:56:36.379",
		"13:57:10.398 state.has_leader ctrl3 prev=ctrl1 since=13:57:10.398",
		// QL2: ctrl3 sees both others gone at once; with no majority left
		// no election can be in progress, and the loss is announced at once.
		"13:57:19.570 state.is_leaderless  prev=ctrl3 since=13:57:19.570",
		"13:58:37.031 state.has_leader ctrl3 prev=ctrl3 since=13:58:37.031",
		// The end: every controller stopped.
		"13:58:59.058 state.is_leaderless  prev=ctrl3 since=13:58:59.058",
	}
	if !slices.Equal(got, want) {
		t.Errorf("cluster states\n got:\n  %s\nwant:\n  %s", join(got), join(want))
	}
	// Every change there followed a kill: a failover. Restart blips and
	// survivors still naming a dead leader are no split brain.
	for _, ev := range rec.states {
		if ev.Type == event.HasLeader && ev.PreviousLeaderID != "" && ev.ChangeKind != event.ChangeFailover {
			t.Errorf("%s: change_kind %q, want failover", ev, ev.ChangeKind)
		}
		if ev.Type == event.SplitBrain {
			t.Errorf("split brain announced: %s", ev)
		}
	}
}

func TestOpenZiti1Rules(t *testing.T) {
	rec := replayOpenZiti1(t, openziti1Rules)
	// Each long outage fires at its true start plus the threshold.
	check := func(rule string, want ...string) {
		t.Helper()
		var got []string
		for _, o := range rec.fired(rule) {
			got = append(got, o.Time.Format("15:04:05.000"))
		}
		if !slices.Equal(got, want) {
			t.Errorf("%s fired at %v, want %v", rule, got, want)
		}
	}
	check("gone-20s", "13:56:56.379", "13:57:39.570")                                // QL1, QL2: loss + 20 s
	check("gone-60s", "13:58:19.570")                                                // QL2 only: loss + 60 s
	check("changed", "13:56:04.061", "13:56:15.949", "13:56:29.544", "13:57:10.398") // R1 R2 R3 QL1; QL2 ends with ctrl3 again
	check("flap", "13:56:29.544")                                                    // third change within a minute
	for _, o := range rec.fired("gone-20s") {
		if o.LeaderlessFor != 20*time.Second || o.Trigger != rules.TriggerTime {
			t.Errorf("gone-20s fired with leaderless_for=%s trigger=%s, want 20s by time", o.LeaderlessFor, o.Trigger)
		}
	}
	// The real outages, from the kill to the new leader (plus stabilize):
	// every announced loss lies inside one of them.
	outages := [][2]string{{"13:55:50.0", "13:55:55.5"}, {"13:55:57.0", "13:56:06.6"}, {"13:56:10.9", "13:56:18.5"},
		{"13:56:22.7", "13:56:32.1"}, {"13:56:36.3", "13:57:12.9"}, {"13:57:19.5", "13:58:39.6"}, {"13:58:59.0", "13:59:59.9"}}
	for _, ev := range rec.states {
		if ev.Type != event.Leaderless {
			continue
		}
		inside := false
		for _, o := range outages {
			inside = inside || (!ev.Time.Before(at(o[0])) && !ev.Time.After(at(o[1])))
		}
		if !inside {
			t.Errorf("leader loss announced at %s while the cluster had a leader", ev.Time.Format("15:04:05.000"))
		}
	}
}

// The sink sees each state numbered, one more each time, before the
// outcomes it causes; each outcome, and its notification, carries the
// number of the state it was decided for.
func TestOpenZiti1StateNumbers(t *testing.T) {
	rec := replayOpenZiti1(t, openziti1Rules)
	for i, ev := range rec.states {
		if ev.Seq != uint64(i+1) {
			t.Errorf("state %d (%s) has seq %d", i+1, ev, ev.Seq)
		}
	}
	if len(rec.outcomes) == 0 {
		t.Fatal("no outcomes")
	}
	for i, o := range rec.outcomes {
		if n := Notification(o, false); o.State.Seq != rec.seen[i] || n.Seq != rec.seen[i] {
			t.Errorf("%s %s at %s: seq %d, notification %d, want %d", o.Rule, o.Kind, o.Time.Format("15:04:05.000"), o.State.Seq, n.Seq, rec.seen[i])
		}
	}
}

func join(lines []string) string {
	s := ""
	for i, l := range lines {
		if i > 0 {
			s += "\n  "
		}
		s += l
	}
	return s
}

// follower is a Submitter that follows state changes.
type follower struct{ log []string }

func (f *follower) Submit(n actions.Notification, names []string) error {
	f.log = append(f.log, fmt.Sprintf("submit %s seq=%d", n.Rule, n.Seq))
	return nil
}

func (f *follower) StateChanged(cluster string, seq uint64) {
	f.log = append(f.log, fmt.Sprintf("state %s seq=%d", cluster, seq))
}

// The dispatcher hears of each new state before the outcomes it causes
// are submitted: it fences off what was decided for the state before.
func TestDispatchingTellsOfStatesFirst(t *testing.T) {
	engine, err := rules.New(rules.Options{Rules: []rules.Rule{
		{Name: "changed", When: `type == "state.has_leader" && previous_leader_id != ""`, Actions: []string{"fix"}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	f := &follower{}
	d := NewDriver(engine, []ClusterView{{Name: "c1"}}, "c1", &Dispatching{Next: &recorder{}, To: f})
	t0 := at("13:00:00")
	for i, leader := range []string{"a", "b", "a"} {
		d.Handle(event.Event{Source: "m1", Type: event.HasLeader, LeaderID: leader, Time: t0.Add(time.Duration(i) * time.Second)})
	}
	want := []string{"state c1 seq=1", "state c1 seq=2", "submit changed seq=2", "state c1 seq=3", "submit changed seq=3"}
	if !slices.Equal(f.log, want) {
		t.Errorf("got  %q\nwant %q", f.log, want)
	}
}
