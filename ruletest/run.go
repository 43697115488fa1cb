package ruletest

import (
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/leaderhook/leaderhook/config"
	"github.com/leaderhook/leaderhook/event"
	"github.com/leaderhook/leaderhook/pipeline"
	"github.com/leaderhook/leaderhook/rules"
)

// Got is one outcome as a test sees it.
type Got struct {
	At      Offset
	Rule    string
	Outcome string
	Reason  string
	Labels  map[string]string
}

func (g Got) String() string { return g.format(nil) }

// format shows the outcome with the labels named in keys, as an
// expectation names them.
func (g Got) format(keys map[string]string) string {
	s := fmt.Sprintf("%-8s %s %s", g.At, g.Rule, g.Outcome)
	if g.Reason != "" {
		s += " (" + g.Reason + ")"
	}
	if len(keys) == 0 {
		return s
	}
	var shown []string
	for _, k := range slices.Sorted(maps.Keys(keys)) {
		if v, ok := g.Labels[k]; ok {
			shown = append(shown, fmt.Sprintf("%s=%q", k, v))
		} else {
			shown = append(shown, k+" missing")
		}
	}
	return s + " {" + strings.Join(shown, ", ") + "}"
}

// Result is the verdict on one test.
type Result struct {
	Test    *Test
	Passed  bool
	Err     error  // the test could not run
	Diff    string // want/got, when it failed
	Elapsed time.Duration
}

// singleMember stands for the whole cluster in events that name no source.
const singleMember = "cluster"

// CheckRules reports the rules that f's tests name (in expect or rules)
// but cfg does not have. Run it before Run: without it, a misspelt rule
// only shows up as an outcome that never came.
func CheckRules(f *File, cfg *config.Config) error {
	known := make(map[string]bool, len(cfg.Rules))
	names := make([]string, 0, len(cfg.Rules))
	for _, r := range cfg.Rules {
		known[r.Name] = true
		names = append(names, r.Name)
	}
	if len(names) == 0 {
		names = append(names, "(none)")
	}
	var ps []problem
	report := func(where, rule string) {
		if !known[rule] {
			ps = append(ps, problem{where, fmt.Sprintf("no rule %q in the config (rules in %s: %s)", rule, f.ConfigPath(), strings.Join(names, ", "))})
		}
	}
	for i, t := range f.Tests {
		if t.Expect != nil {
			for j, x := range *t.Expect {
				report(fmt.Sprintf("tests[%d].expect[%d].rule", i, j), x.Rule)
			}
		}
		for j, r := range t.Rules {
			report(fmt.Sprintf("tests[%d].rules[%d]", i, j), r)
		}
	}
	return f.problems(ps)
}

// CheckSources reports the events whose source is not one of the members
// the config fixes for their cluster. The detector ignores a stranger's
// reports: without this, a misspelt source only shows up as reports that
// changed nothing, which a test of rules that stay quiet takes for a pass.
func CheckSources(f *File, cfg *config.Config) error {
	var ps []problem
	for i := range f.Tests {
		t := &f.Tests[i]
		cluster, err := testCluster(t, cfg)
		if err != nil {
			continue // Run reports it
		}
		var members []string
		for _, c := range cfg.Clusters {
			if c.Name == cluster {
				members = c.Members
			}
		}
		for j, ev := range t.Events {
			if ev.Source != "" && len(members) > 0 && !slices.Contains(members, ev.Source) {
				ps = append(ps, problem{fmt.Sprintf("tests[%d].events[%d].source", i, j),
					fmt.Sprintf("%q is not a member of cluster %q (members: %s)", ev.Source, cluster, strings.Join(members, ", "))})
			}
		}
	}
	return f.problems(ps)
}

// Run runs every test of f against cfg.
func Run(f *File, cfg *config.Config, log *slog.Logger) []Result {
	results := make([]Result, 0, len(f.Tests))
	for i := range f.Tests {
		start := time.Now()
		r := runOne(&f.Tests[i], cfg, log)
		r.Elapsed = time.Since(start)
		results = append(results, r)
	}
	return results
}

type collector struct {
	start time.Time
	got   []Got
}

func (c *collector) State(event.Event) {}
func (c *collector) Outcome(o rules.Outcome) {
	c.got = append(c.got, Got{At: Offset(o.Time.Sub(c.start)), Rule: o.Rule, Outcome: o.Kind, Reason: o.Reason, Labels: o.Labels})
}

func runOne(t *Test, cfg *config.Config, log *slog.Logger) Result {
	res := Result{Test: t}
	cluster, err := testCluster(t, cfg)
	if err != nil {
		res.Err = err
		return res
	}
	start, err := t.Start.In(cfg.Location())
	if err != nil {
		res.Err = err
		return res
	}
	if start.IsZero() {
		start = DefaultStart
	}
	// Events without a source stand for the whole cluster: drop a fixed
	// membership that their single reporter would not belong to.
	named := slices.ContainsFunc(t.Events, func(ev Event) bool { return ev.Source != "" })
	c := *cfg
	c.Clusters = slices.Clone(cfg.Clusters)
	for i := range c.Clusters {
		if !named {
			c.Clusters[i].Members = nil
		}
	}
	sink := &collector{start: start}
	driver, err := pipeline.New(&c, cluster, sink, log)
	if err != nil {
		res.Err = err
		return res
	}
	driver.AssumeDelivered() // nothing is delivered: every action succeeds as it fires
	end := t.Until
	for _, ev := range t.Events {
		if err := step(driver, cluster, start, ev); err != nil {
			res.Err = err
			return res
		}
		end = max(end, ev.At)
	}
	want := *t.Expect
	for _, x := range want {
		end = max(end, x.At)
	}
	driver.AdvanceTo(start.Add(time.Duration(end)))

	got := filter(sink.got, want, t.Rules)
	res.Passed = matches(got, want)
	if !res.Passed {
		res.Diff = diff(got, want)
	}
	return res
}

// step hands one scripted event, or window of expected changes, to the
// driver.
func step(driver *pipeline.Driver, cluster string, start time.Time, ev Event) error {
	at := start.Add(time.Duration(ev.At))
	if x := ev.Expect; x != nil {
		w := rules.Expectation{Since: at, Reason: x.Reason}
		if !x.End {
			w.Until = at.Add(time.Duration(x.For))
		}
		return driver.Expect(cluster, w, at)
	}
	src := ev.Source
	if src == "" {
		src = singleMember
	}
	return driver.Handle(event.Event{Source: src, Time: at, Type: ev.EventType, LeaderID: ev.LeaderID, Peers: ev.Peers, Term: ev.Term, Cluster: cluster})
}

func testCluster(t *Test, cfg *config.Config) (string, error) {
	if t.Cluster != "" {
		for _, c := range cfg.Clusters {
			if c.Name == t.Cluster {
				return t.Cluster, nil
			}
		}
		return "", fmt.Errorf("cluster %q is not in the config", t.Cluster)
	}
	if len(cfg.Clusters) == 1 {
		return cfg.Clusters[0].Name, nil
	}
	return "", errNoCluster
}

// filter keeps the outcomes of the rules the expectations mention and of
// the rules listed; with neither, every outcome counts.
func filter(got []Got, want []Expect, rules []string) []Got {
	if len(want) == 0 && len(rules) == 0 {
		return got
	}
	listed := map[string]bool{}
	for _, r := range rules {
		listed[r] = true
	}
	for _, x := range want {
		listed[x.Rule] = true
	}
	var out []Got
	for _, g := range got {
		if listed[g.Rule] {
			out = append(out, g)
		}
	}
	return out
}

func matches(got []Got, want []Expect) bool {
	if len(got) != len(want) {
		return false
	}
	for i, x := range want {
		if !x.matches(got[i]) {
			return false
		}
	}
	return true
}

// matches compares one outcome; a reason left out matches any reason, and
// labels left out any labels.
func (x Expect) matches(g Got) bool {
	if g.At != x.At || g.Rule != x.Rule || g.Outcome != x.Outcome || x.Reason != "" && g.Reason != x.Reason {
		return false
	}
	for k, v := range x.Labels {
		if got, ok := g.Labels[k]; !ok || got != v {
			return false
		}
	}
	return true
}

func diff(got []Got, want []Expect) string {
	var b strings.Builder
	n := max(len(got), len(want))
	w := len("want")
	wants := make([]string, n)
	for i := range n {
		if i < len(want) {
			x := want[i]
			wants[i] = Got{At: x.At, Rule: x.Rule, Outcome: x.Outcome, Reason: x.Reason, Labels: x.Labels}.format(x.Labels)
		} else {
			wants[i] = "(nothing)"
		}
		w = max(w, len(wants[i]))
	}
	fmt.Fprintf(&b, "    %-*s   %s\n", w, "want", "got")
	for i := range n {
		g := "(nothing)"
		if i < len(got) {
			var keys map[string]string
			if i < len(want) {
				keys = want[i].Labels
			}
			g = got[i].format(keys)
		}
		mark := "!"
		if i < len(got) && i < len(want) && want[i].matches(got[i]) {
			mark = " "
		}
		fmt.Fprintf(&b, "  %s %-*s   %s\n", mark, w, wants[i], g)
	}
	return b.String()
}
