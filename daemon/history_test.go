package daemon

import (
	"encoding/json"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/leaderhook/leaderhook/config"
	"github.com/leaderhook/leaderhook/history"
)

// The shape of GET /v1/history and its table in docs/operations.md are
// one: every field the answer can hold is documented, and nothing else.
func TestHistoryMatchesTheDocs(t *testing.T) {
	doc, err := os.ReadFile("../docs/operations.md")
	if err != nil {
		t.Fatal(err)
	}
	section := string(doc)
	start := strings.Index(section, "## History: `GET /v1/history`")
	if start < 0 {
		t.Fatal("docs/operations.md has no section on GET /v1/history")
	}
	section = section[start:]
	if end := strings.Index(section[3:], "\n## "); end >= 0 {
		section = section[:end+3]
	}
	var documented []string
	for _, m := range regexp.MustCompile("(?m)^\\| `([a-z_\\[\\].]+)` \\|").FindAllStringSubmatch(section, -1) {
		documented = append(documented, m[1])
	}
	answered := historyPaths(t, fullWindow())
	slices.Sort(documented)
	slices.Sort(answered)
	if !slices.Equal(documented, answered) {
		t.Errorf("docs/operations.md documents %v\nGET /v1/history answers %v", documented, answered)
	}
	var v any
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

// fullWindow has every field set.
func fullWindow() history.Window {
	now := time.Now()
	code := 1
	d := history.Summary{ID: "d", Cluster: "c", Rule: "r", Status: "firing", Action: "a", State: "retrying", Attempts: 1, First: now,
		Last: now, LastError: "e", HTTPStatus: 500, ExitCode: &code, NextAttempt: now, Fallback: true}
	return history.Window{Time: now, Boot: "b", From: now, To: now, After: 1, Reset: true, LastSeq: 2, KeptFrom: now,
		States: []history.State{{Time: now, Cluster: "c", Type: "t", LeaderID: "l", PreviousLeaderID: "p", Since: now, Baseline: true}},
		Splits: []history.Split{{Time: now, Cluster: "c", Type: "t", Leaders: []string{"l", "m"}, Since: now}},
		Outcomes: []history.Outcome{{Time: now, Cluster: "c", Rule: "r", Outcome: "fired", Reason: "x", Trigger: "event", LeaderID: "l",
			PreviousLeaderID: "p", LeaderlessForMS: 1, Actions: []string{"a"}, DeliveryIDs: []string{"d"}}},
		Deliveries: []history.Summary{d}, Unfinished: []history.Summary{d}, Cluster: "c", StepMS: 1000,
		Spans: []history.Span{{Cluster: "c", Kind: "busy", Start: now, Stop: now, Changes: 2, LeaderID: "l", PreviousLeaderID: "p", Announced: now}},
		Marks: []history.Mark{{Cluster: "c", First: now, Last: now, Outcomes: map[string]int{"fired": 1}, Rules: []string{"r"}}}}
}

// historyPaths are the answer's leaves, the fields of unfinished[] told
// once by `unfinished` (they are those of deliveries[]), and the kinds
// counted in marks[].outcomes by `marks[].outcomes`.
func historyPaths(t *testing.T, w history.Window) []string {
	t.Helper()
	data, err := json.Marshal(w)
	if err != nil {
		t.Fatal(err)
	}
	var v any
	json.Unmarshal(data, &v)
	var out []string
	for _, p := range paths("", v) {
		if strings.HasPrefix(p, "unfinished[]") {
			p = "unfinished"
		}
		if strings.HasPrefix(p, "marks[].outcomes.") {
			p = "marks[].outcomes" // keyed by kind
		}
		if !slices.Contains(out, p) {
			out = append(out, p)
		}
	}
	return out
}

// The history's bounds apply at a start: a reload that changes them is
// refused, naming the key.
func TestHistoryBoundsNeedARestart(t *testing.T) {
	old, next := &config.Config{}, &config.Config{}
	hour := time.Hour
	next.History.MaxAge = &hour
	if keys := restartOnly(old, next); !slices.Contains(keys, "history") {
		t.Errorf("restart-only keys %v lack history", keys)
	}
}
