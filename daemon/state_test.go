package daemon

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"os"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/leaderhook/leaderhook/pipeline"
	"github.com/leaderhook/leaderhook/rules"
	"github.com/leaderhook/leaderhook/store"
)

// journalFailing is a state directory whose delivery journal fails until
// repaired; it counts the saves made in each condition.
type journalFailing struct {
	mu                  sync.Mutex
	failing             bool
	savedWhileFailing   int
	savedWhileCrashSafe int
}

func (j *journalFailing) Save(store.State) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.failing {
		j.savedWhileFailing++
	} else {
		j.savedWhileCrashSafe++
	}
	return nil
}

func (j *journalFailing) CrashSafe() error {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.failing {
		return errors.New("journal: no space left on device")
	}
	return nil
}

func (j *journalFailing) repair() {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.failing = false
}

// While the journal lacks a pending delivery, the state is not saved: a
// crash would leave its firing recorded and nothing to deliver. It is
// saved once the journal is repaired.
func TestSaverWaitsForTheJournal(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		engine, err := rules.New(rules.Options{})
		if err != nil {
			t.Fatal(err)
		}
		dir := &journalFailing{failing: true}
		held := func(f func()) error { f(); return nil }
		s := newSaver(dir, pipeline.NewDriver(engine, nil, "", nil), held, &positionBook{}, "state", slog.New(slog.DiscardHandler))
		ctx, stop := context.WithCancel(t.Context())
		defer stop()
		go s.run(ctx)
		s.save(s.take())               // Run's first save
		s.changed()                    // and a change
		time.Sleep(10 * heldSaveRetry) // on the bubble's fake clock: a long outage
		synctest.Wait()
		dir.repair()
		time.Sleep(2 * heldSaveRetry)
		synctest.Wait()
		if dir.savedWhileFailing != 0 || dir.savedWhileCrashSafe == 0 {
			t.Errorf("%d saves while the journal failed, %d after its repair; want none, then some",
				dir.savedWhileFailing, dir.savedWhileCrashSafe)
		}
	})
}

// saveFailsOnce is a state directory whose first save fails (a full
// disk, say); those after it work.
type saveFailsOnce struct {
	mu     sync.Mutex
	calls  int
	stored int
}

func (s *saveFailsOnce) Save(store.State) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls++
	if s.calls == 1 {
		return errors.New("state: write state.log: no space left on device")
	}
	s.stored++
	return nil
}

func (s *saveFailsOnce) CrashSafe() error { return nil }

// A change whose save failed is saved again once the disk works, without
// waiting for another change: a quiet cluster's firing would otherwise be
// missing from state.log, and a restart fire it again. The failure is
// counted.
func TestFailedSaveIsRetried(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		engine, err := rules.New(rules.Options{})
		if err != nil {
			t.Fatal(err)
		}
		dir := &saveFailsOnce{}
		held := func(f func()) error { f(); return nil }
		s := newSaver(dir, pipeline.NewDriver(engine, nil, "", nil), held, &positionBook{}, "state", slog.New(slog.DiscardHandler))
		failures := 0
		s.failed = func() { failures++ }
		ctx, stop := context.WithCancel(t.Context())
		defer stop()
		go s.run(ctx)
		s.changed()                   // its save fails
		time.Sleep(2 * heldSaveRetry) // on the bubble's fake clock; no other change
		synctest.Wait()
		if dir.stored == 0 || failures != 1 {
			t.Errorf("%d saves tried, %d stored, %d failures counted; want the change stored after the one failure", dir.calls, dir.stored, failures)
		}
	})
}

// The shape of GET /v1/state and its table in docs/operations.md are one:
// every field the answer can hold is documented, and nothing else.
func TestStateMatchesTheDocs(t *testing.T) {
	doc, err := os.ReadFile("../docs/operations.md")
	if err != nil {
		t.Fatal(err)
	}
	section := string(doc)
	start := strings.Index(section, "## State: `GET /v1/state`")
	if start < 0 {
		t.Fatal("docs/operations.md has no section on GET /v1/state")
	}
	section = section[start:]
	if end := strings.Index(section[3:], "\n## "); end >= 0 {
		section = section[:end+3]
	}
	var documented []string
	for _, m := range regexp.MustCompile("(?m)^\\| `([a-z_\\[\\].]+)` \\|").FindAllStringSubmatch(section, -1) {
		documented = append(documented, m[1])
	}
	now := time.Now()
	full := stateView{Time: now, QueueDepth: 1, Clusters: []clusterView{{
		Name: "c", Known: true, HasLeader: true, LeaderID: "a", PreviousLeaderID: "b", Since: now, Seq: 4,
		MembersUp: 2, MembersTotal: 3, QuorumMargin: new(int), WatcherIsolated: true, SplitBrain: true, SplitBrainSince: now, Leaders: []string{"a", "c"},
		Expected: &expectView{Since: now, Until: now, Reason: "r"},
		Members:  []memberView{{ID: "a", Follows: "a", Down: true, Unknown: true, Reason: "r", LastReport: now}},
		Rules:    []ruleView{{Name: "r", Active: true, Firing: true, Since: now, HeldUntil: now, HeldBy: "cooldown", LastFired: now}},
	}}}
	data, err := json.Marshal(full)
	if err != nil {
		t.Fatal(err)
	}
	var v any
	json.Unmarshal(data, &v)
	answered := paths("", v)
	slices.Sort(documented)
	slices.Sort(answered)
	if !slices.Equal(documented, answered) {
		t.Errorf("docs/operations.md documents %v\nGET /v1/state answers %v", documented, answered)
	}
	// The example in the docs has that shape too.
	example := regexp.MustCompile("(?s)```json\n(.*?)```").FindStringSubmatch(section)
	if example == nil || json.Unmarshal([]byte(example[1]), &v) != nil {
		t.Fatalf("the section's JSON example does not parse: %v", example)
	}
	for _, p := range paths("", v) {
		if !slices.Contains(documented, p) {
			t.Errorf("the example has %s, which is not documented", p)
		}
	}
}

// paths lists the leaves of a decoded JSON value: "a.b", "list[].c".
func paths(prefix string, v any) []string {
	switch v := v.(type) {
	case map[string]any:
		var out []string
		for k, e := range v {
			p := k
			if prefix != "" {
				p = prefix + "." + k
			}
			out = append(out, paths(p, e)...)
		}
		return out
	case []any:
		var out []string
		for _, e := range v {
			for _, p := range paths(prefix+"[]", e) {
				if !slices.Contains(out, p) {
					out = append(out, p)
				}
			}
		}
		return out
	}
	return []string{prefix}
}

const splitConfig = `server: {listen: "127.0.0.1:0"}
state_dir: {{.Dir}}/state
clusters:
  - {name: ziti, stabilize: 0s, split_brain_after: 200ms, members: [a, b, c], source: {type: events, http: true}}
`

// A split brain shows in GET /v1/state, with since when and who claims
// the lead, and goes once a single leader is claimed again: the cluster
// still has its leader, and the page must tell the split from it.
func TestStateShowsASplitBrain(t *testing.T) {
	h := newHarness(t, splitConfig, nil)
	h.start(Options{})
	h.post("/v1/events?cluster=ziti", "", strings.Join([]string{ev("a", "state.has_leader", "a"), ev("b", "state.has_leader", "a"), ev("c", "state.has_leader", "a")}, "\n"))
	claimed := time.Now()
	h.post("/v1/events?cluster=ziti", "", ev("c", "state.has_leader", "c"))
	waitFor(t, "the split brain in the state", func() bool { return h.cluster("ziti").SplitBrain })
	c := h.cluster("ziti")
	if !c.HasLeader || c.LeaderID != "a" || !slices.Equal(c.Leaders, []string{"a", "c"}) {
		t.Errorf("a split brain under leader a: has_leader %v, leader_id %q, leaders %v", c.HasLeader, c.LeaderID, c.Leaders)
	}
	if d := c.SplitBrainSince.Sub(claimed); d < -time.Second || d > time.Second {
		t.Errorf("split_brain_since %s, want when c claimed the lead, about %s", c.SplitBrainSince, claimed)
	}
	h.post("/v1/events?cluster=ziti", "", ev("c", "state.has_leader", "a"))
	waitFor(t, "the split brain to end in the state", func() bool { return !h.cluster("ziti").SplitBrain })
	if c := h.cluster("ziti"); !c.SplitBrainSince.IsZero() || !slices.Equal(c.Leaders, []string{"a"}) {
		t.Errorf("the split ended: split_brain_since %s, leaders %v", c.SplitBrainSince, c.Leaders)
	}
}

// Before any member reports, GET /v1/state counts a cluster's configured
// members as presumed up, as /metrics does, and a cluster with no member
// known has no quorum margin (null), not -1 that reads as a lost majority.
func TestStateBeforeAnyReport(t *testing.T) {
	h := newHarness(t, `server: {listen: "127.0.0.1:0"}
state_dir: {{.Dir}}/state
clusters:
  - {name: ziti, members: [a, b, c], source: {type: events, http: true}}
  - {name: open, source: {type: events, http: true}}
`, nil)
	h.start(Options{})
	c := h.cluster("ziti")
	if c.MembersUp != 3 || c.MembersTotal != 3 || c.QuorumMargin == nil || *c.QuorumMargin != 1 {
		t.Errorf("configured members before a report: %d/%d up, margin %s; want 3/3, 1", c.MembersUp, c.MembersTotal, marginOf(c))
	}
	if o := h.cluster("open"); o.MembersTotal != 0 || o.QuorumMargin != nil {
		t.Errorf("no member known: %d members, margin %s; want 0, null", o.MembersTotal, marginOf(o))
	}
}

func marginOf(c clusterView) string {
	b, _ := json.Marshal(c.QuorumMargin)
	return string(b)
}
