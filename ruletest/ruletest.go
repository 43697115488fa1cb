// Package ruletest runs rule unit tests (docs/dry-run.md, Test): scripted
// events on a virtual clock, and the exact rule outcomes expected from them.
package ruletest

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/leaderhook/leaderhook/event"
)

// DefaultStart is when a test's clock starts unless it sets `start`.
var DefaultStart = time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)

// File is one test file.
type File struct {
	Path   string            `yaml:"-"`
	Config string            `yaml:"config"` // relative to the test file
	Env    map[string]string `yaml:"env"`    // for ${VAR} in the config
	Tests  []Test            `yaml:"tests"`
}

// Test is one scenario.
type Test struct {
	Name    string    `yaml:"name"`
	Cluster string    `yaml:"cluster"`
	Start   time.Time `yaml:"start"`
	Until   Offset    `yaml:"until"`
	Events  []Event   `yaml:"events"`
	Expect  *[]Expect `yaml:"expect"`
	// Rules lists rules that must produce exactly the expected outcomes,
	// also when expect names none of theirs (they must stay quiet).
	Rules []string `yaml:"rules"`
	Line  int      `yaml:"-"`

	ruleLines []int // of each item of Rules
}

// Event is one scripted event. Without Source it is the report of a single
// member that stands for the whole cluster. With Expect it is no event but
// a window of expected changes declared at At, as `leaderhook expect` does.
type Event struct {
	At        Offset   `yaml:"at"`
	EventType string   `yaml:"eventType"`
	LeaderID  string   `yaml:"leaderId"`
	Source    string   `yaml:"source"`
	Peers     []string `yaml:"peers"`
	Term      uint64   `yaml:"term"`
	Expect    *Window  `yaml:"expect"`
	Line      int      `yaml:"-"`
}

// Window opens a window of expected changes For long, or ends the open one.
type Window struct {
	For    Offset `yaml:"for"`
	Reason string `yaml:"reason"`
	End    bool   `yaml:"end"`
}

// Expect is one expected outcome.
type Expect struct {
	At      Offset `yaml:"at"`
	Rule    string `yaml:"rule"`
	Outcome string `yaml:"outcome"`
	Reason  string `yaml:"reason"`
	// Labels must be among the outcome's (the cluster's with the rule's
	// over them), with these values; others may be there too.
	Labels map[string]string `yaml:"labels"`
	Line   int               `yaml:"-"`
}

// Offset is a duration from the test's start, written like 1m30s.
type Offset time.Duration

// UnmarshalYAML reads a Go duration string.
func (o *Offset) UnmarshalYAML(n *yaml.Node) error {
	d, err := time.ParseDuration(n.Value)
	if err != nil || d < 0 {
		return fmt.Errorf("line %d: %q is not an offset such as 0s, 30s or 1m30s", n.Line, n.Value)
	}
	*o = Offset(d)
	return nil
}

func (o Offset) String() string { return time.Duration(o).String() }

// Load reads and checks a test file.
func Load(path string) (*File, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	f := &File{Path: path}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(f); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err == nil {
		attachLines(f, &root)
	}
	var problems []string
	if f.Config == "" {
		problems = append(problems, "config: name the config file to test (relative to this file)")
	}
	if len(f.Tests) == 0 {
		problems = append(problems, "tests: no tests")
	}
	for i := range f.Tests {
		t := &f.Tests[i]
		where := fmt.Sprintf("tests[%d]", i)
		if t.Name == "" {
			problems = append(problems, where+".name: is required")
		}
		if len(t.Events) == 0 {
			problems = append(problems, where+".events: no events")
		}
		for j, ev := range t.Events {
			problems = append(problems, checkEvent(fmt.Sprintf("%s.events[%d]", where, j), ev)...)
			if j > 0 && ev.At < t.Events[j-1].At {
				problems = append(problems, fmt.Sprintf("%s.events[%d].at: %s is before the previous event", where, j, ev.At))
			}
		}
		if t.Expect == nil {
			problems = append(problems, where+".expect: say what must happen (expect: [] for nothing at all)")
			continue
		}
		for j, x := range *t.Expect {
			if x.Rule == "" {
				problems = append(problems, fmt.Sprintf("%s.expect[%d].rule: is required", where, j))
			}
			if !slices.Contains([]string{"fired", "resolved", "suppressed", "verified", "verify_failed"}, x.Outcome) {
				problems = append(problems, fmt.Sprintf("%s.expect[%d].outcome: %q: want fired, resolved, suppressed, verified or verify_failed", where, j, x.Outcome))
			}
		}
	}
	if len(problems) > 0 {
		return nil, fmt.Errorf("%s:\n  %s", path, strings.Join(problems, "\n  "))
	}
	return f, nil
}

// checkEvent checks one step: an event, or a window of expected changes.
func checkEvent(where string, ev Event) []string {
	if x := ev.Expect; x != nil {
		switch {
		case ev.EventType != "" || ev.Source != "" || ev.LeaderID != "" || len(ev.Peers) > 0:
			return []string{where + ": a step is an event or a window of expected changes (expect), not both"}
		case x.End == (x.For > 0):
			return []string{where + ".expect: give either for (how long changes are expected, e.g. 30m) or end: true"}
		}
		return nil
	}
	var problems []string
	if !event.KnownType(ev.EventType) {
		problems = append(problems, fmt.Sprintf("%s.eventType: unknown event type %q", where, ev.EventType))
	}
	if ev.EventType == event.HasLeader && ev.LeaderID == "" {
		problems = append(problems, where+": state.has_leader needs leaderId")
	}
	return problems
}

// ConfigPath returns the config file's path, resolved against the test file.
func (f *File) ConfigPath() string {
	if filepath.IsAbs(f.Config) {
		return f.Config
	}
	return filepath.Join(filepath.Dir(f.Path), f.Config)
}

// attachLines records the line of each test, event, expectation and
// listed rule for messages.
func attachLines(f *File, root *yaml.Node) {
	tests := lookup(root, "tests")
	if tests == nil {
		return
	}
	for i, tn := range tests.Content {
		if i >= len(f.Tests) {
			return
		}
		f.Tests[i].Line = tn.Line
		if evs := lookup(tn, "events"); evs != nil {
			for j, en := range evs.Content {
				if j < len(f.Tests[i].Events) {
					f.Tests[i].Events[j].Line = en.Line
				}
			}
		}
		if xs := lookup(tn, "expect"); xs != nil && f.Tests[i].Expect != nil {
			for j, xn := range xs.Content {
				if j < len(*f.Tests[i].Expect) {
					(*f.Tests[i].Expect)[j].Line = xn.Line
				}
			}
		}
		if rs := lookup(tn, "rules"); rs != nil {
			for _, rn := range rs.Content {
				f.Tests[i].ruleLines = append(f.Tests[i].ruleLines, rn.Line)
			}
		}
	}
}

func lookup(n *yaml.Node, key string) *yaml.Node {
	if n.Kind == yaml.DocumentNode && len(n.Content) > 0 {
		n = n.Content[0]
	}
	if n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return n.Content[i+1]
		}
	}
	return nil
}

// errNoCluster is returned when a test names no cluster and the config has several.
var errNoCluster = errors.New("cluster: the config has several clusters; name one")
