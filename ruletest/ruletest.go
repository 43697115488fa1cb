// Package ruletest runs rule unit tests (docs/dry-run.md, Test): scripted
// events on a virtual clock, and the exact rule outcomes expected from them.
package ruletest

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/leaderhook/leaderhook/config"
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

	loc *config.Locator // places problems in the file
}

// Test is one scenario.
type Test struct {
	Name    string    `yaml:"name"`
	Cluster string    `yaml:"cluster"`
	Start   Start     `yaml:"start"`
	Until   Offset    `yaml:"until"`
	Events  []Event   `yaml:"events"`
	Expect  *[]Expect `yaml:"expect"`
	// Rules lists rules that must produce exactly the expected outcomes,
	// also when expect names none of theirs (they must stay quiet).
	Rules []string `yaml:"rules"`
	Line  int      `yaml:"-"`
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
		// A type error: yaml.v3 goes on, and reports every one at its line.
		return &yaml.TypeError{Errors: []string{fmt.Sprintf("line %d: %q is not an offset such as 0s, 30s or 1m30s", n.Line, n.Value)}}
	}
	*o = Offset(d)
	return nil
}

func (o Offset) String() string { return time.Duration(o).String() }

// Start is when a test's clock starts: a time that names its zone
// (2026-03-29T01:30:00Z, ...+01:00), or one that does not (2026-03-29
// 01:30), which is in the config's timezone, as its schedules and windows
// are: a test of a DST change is written in local time.
type Start string

// UnmarshalYAML checks the time; the config it is in comes later.
func (s *Start) UnmarshalYAML(n *yaml.Node) error {
	if _, err := Start(n.Value).In(time.UTC); err != nil {
		return &yaml.TypeError{Errors: []string{fmt.Sprintf("line %d: %v", n.Line, err)}}
	}
	*s = Start(n.Value)
	return nil
}

// zoned and local are the layouts of a start with and without its zone.
var (
	zoned = []string{time.RFC3339Nano, "2006-01-02 15:04:05.999999999Z07:00"}
	local = []string{"2006-01-02T15:04:05.999999999", "2006-01-02 15:04:05.999999999", "2006-01-02T15:04", "2006-01-02 15:04", "2006-01-02"}
)

// In returns the start, in loc unless it names its zone; the zero time
// when it is not set.
func (s Start) In(loc *time.Location) (time.Time, error) {
	v := strings.TrimSpace(string(s))
	if v == "" {
		return time.Time{}, nil
	}
	for _, layout := range zoned {
		if t, err := time.Parse(layout, v); err == nil {
			return t, nil
		}
	}
	for _, layout := range local {
		if t, err := time.ParseInLocation(layout, v, loc); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("%q is not a start such as 2026-03-29 01:30 (in the config's timezone) or 2026-03-29T01:30:00Z", v)
}

// Load reads and checks a test file. Its problems come as a
// *config.Errors, each at its file, line, column and key.
func Load(path string) (*File, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	f := &File{Path: path, loc: config.NewLocator(path, data)}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(f); err != nil {
		return nil, &config.Errors{Diagnostics: f.loc.DecodeError(err)}
	}
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err == nil {
		attachLines(f, &root)
	}
	if err := f.problems(f.check()); err != nil {
		return nil, err
	}
	return f, nil
}

// problem is one thing wrong in a test file, at a key path.
type problem struct{ path, msg string }

// problems places each problem in the file, in file order; nil for none.
func (f *File) problems(ps []problem) error {
	if len(ps) == 0 {
		return nil
	}
	ds := make([]config.Diagnostic, len(ps))
	for i, p := range ps {
		ds[i] = f.loc.At(p.path, p.msg)
		if ds[i].File == "" {
			ds[i].File = f.Path
		}
	}
	slices.SortStableFunc(ds, func(a, b config.Diagnostic) int {
		return cmp.Or(a.Line-b.Line, a.Col-b.Col)
	})
	return &config.Errors{Diagnostics: ds}
}

// check checks what decoding could not.
func (f *File) check() []problem {
	var ps []problem
	if f.Config == "" {
		ps = append(ps, problem{"config", "name the config file to test (relative to this file)"})
	}
	if len(f.Tests) == 0 {
		ps = append(ps, problem{"tests", "no tests"})
	}
	for i := range f.Tests {
		t := &f.Tests[i]
		where := fmt.Sprintf("tests[%d]", i)
		if t.Name == "" {
			ps = append(ps, problem{where + ".name", "is required"})
		}
		if len(t.Events) == 0 {
			ps = append(ps, problem{where + ".events", "no events"})
		}
		for j, ev := range t.Events {
			ps = append(ps, checkEvent(fmt.Sprintf("%s.events[%d]", where, j), ev)...)
			if j > 0 && ev.At < t.Events[j-1].At {
				ps = append(ps, problem{fmt.Sprintf("%s.events[%d].at", where, j), fmt.Sprintf("%s is before the previous event", ev.At)})
			}
		}
		if t.Expect == nil {
			ps = append(ps, problem{where + ".expect", "say what must happen (expect: [] for nothing at all)"})
			continue
		}
		for j, x := range *t.Expect {
			if x.Rule == "" {
				ps = append(ps, problem{fmt.Sprintf("%s.expect[%d].rule", where, j), "is required"})
			}
			if !slices.Contains([]string{"fired", "resolved", "suppressed", "verified", "verify_failed"}, x.Outcome) {
				ps = append(ps, problem{fmt.Sprintf("%s.expect[%d].outcome", where, j),
					fmt.Sprintf("%q: want fired, resolved, suppressed, verified or verify_failed", x.Outcome)})
			}
		}
	}
	return ps
}

// checkEvent checks one step: an event, or a window of expected changes.
func checkEvent(where string, ev Event) []problem {
	if x := ev.Expect; x != nil {
		switch {
		case ev.EventType != "" || ev.Source != "" || ev.LeaderID != "" || len(ev.Peers) > 0:
			return []problem{{where, "a step is an event or a window of expected changes (expect), not both"}}
		case x.End == (x.For > 0):
			return []problem{{where + ".expect", "give either for (how long changes are expected, e.g. 30m) or end: true"}}
		}
		return nil
	}
	var ps []problem
	if !event.KnownType(ev.EventType) {
		ps = append(ps, problem{where + ".eventType", fmt.Sprintf("unknown event type %q", ev.EventType)})
	}
	if ev.EventType == event.HasLeader && ev.LeaderID == "" {
		ps = append(ps, problem{where, "state.has_leader needs leaderId"})
	}
	return ps
}

// ConfigPath returns the config file's path, resolved against the test file.
func (f *File) ConfigPath() string {
	if filepath.IsAbs(f.Config) {
		return f.Config
	}
	return filepath.Join(filepath.Dir(f.Path), f.Config)
}

// attachLines records the line of each test, event and expectation for
// messages.
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
