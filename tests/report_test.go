package tests

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// reportLine is one line of `report --format json`.
type reportLine struct {
	Cluster      string  `json:"cluster"`
	From         string  `json:"from"`
	To           string  `json:"to"`
	LeaderlessMS int64   `json:"leaderless_ms"`
	UnwatchedMS  int64   `json:"unwatched_ms"`
	Availability float64 `json:"availability"`
	Outages      []struct {
		Start        string `json:"start"`
		End          string `json:"end"`
		DurationMS   int64  `json:"duration_ms"`
		ClippedStart bool   `json:"clipped_start"`
		ClippedEnd   bool   `json:"clipped_end"`
	} `json:"outages"`
	Changes    map[string]int    `json:"changes"`
	ElectionMS map[string]*int64 `json:"election_ms"`
	Flapping   []struct {
		Start   string `json:"start"`
		End     string `json:"end"`
		Changes int    `json:"changes"`
	} `json:"flapping"`
}

func parseReport(t *testing.T, out string) []reportLine {
	t.Helper()
	var lines []reportLine
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		dec := json.NewDecoder(strings.NewReader(l))
		dec.DisallowUnknownFields()
		var r reportLine
		if err := dec.Decode(&r); err != nil {
			t.Fatalf("not a report line: %q: %v", l, err)
		}
		lines = append(lines, r)
	}
	return lines
}

// TestReportOpenZiti1 is the acceptance check of the report: on the real
// recording, the outages are replay's losses, from their true starts to
// the next leader, and QL1 and QL2 are where the ground truth has them.
func TestReportOpenZiti1(t *testing.T) {
	args := append([]string{"-c", "../testdata/openziti-1/rules.yaml", "--format", "json"}, openziti1...)
	out, stderr, code := run(t, nil, append([]string{"report"}, args...)...)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	reports := parseReport(t, out)
	if len(reports) != 1 || reports[0].Cluster != "ziti" {
		t.Fatalf("want one line, for ziti: %s", out)
	}
	r := reports[0]

	// What replay shows: each loss from its "since" to the next leader.
	replayed, _, _ := run(t, nil, append([]string{"replay"}, args...)...)
	var want [][2]string
	for _, l := range parseLines(t, replayed) {
		switch {
		case l.Kind == "state" && l.EventType == "state.is_leaderless":
			want = append(want, [2]string{l.Since, ""})
		case l.Kind == "state" && len(want) > 0 && want[len(want)-1][1] == "":
			want[len(want)-1][1] = l.Time
		}
	}
	if len(want) != 7 || len(r.Outages) != len(want) {
		t.Fatalf("outages: got %d, replay shows %d losses (want 7: formation, R1-R3, QL1, QL2, the end):\n%s", len(r.Outages), len(want), out)
	}
	var total int64
	for i, o := range r.Outages {
		if o.Start != want[i][0] || (want[i][1] != "" && o.End != want[i][1]) {
			t.Errorf("outage %d: %s to %s, replay shows %s to %s", i, o.Start, o.End, want[i][0], want[i][1])
		}
		if d := ts(t, o.End).Sub(ts(t, o.Start)).Milliseconds(); d != o.DurationMS {
			t.Errorf("outage %d: duration_ms %d, its start and end say %d", i, o.DurationMS, d)
		}
		total += o.DurationMS
	}
	if first, last := r.Outages[0], r.Outages[6]; !first.ClippedStart || last.End != r.To || !last.ClippedEnd {
		t.Errorf("leaderless at the start and at the end of the recording: %+v, %+v (to %s)", first, last, r.To)
	}
	// QL1 and QL2: from within 100 ms of the kills, ~34 s and ~77 s.
	for i, q := range []struct {
		kill     string
		min, max int64
	}{{"13:56:36.36", 33000, 35000}, {"13:57:19.55", 76000, 79000}} {
		o := r.Outages[4+i]
		if d := ts(t, o.Start).Sub(at(q.kill)); d < 0 || d > 100*time.Millisecond || o.DurationMS < q.min || o.DurationMS > q.max {
			t.Errorf("QL%d: %s for %d ms; the kill was at %s", i+1, o.Start, o.DurationMS, q.kill)
		}
	}
	span := ts(t, r.To).Sub(ts(t, r.From))
	if r.LeaderlessMS < total || r.LeaderlessMS > total+7 || abs(r.Availability-(1-float64(r.LeaderlessMS)/float64(span.Milliseconds()))) > 1e-4 {
		t.Errorf("leaderless_ms %d (outages add up to %d), availability %v over %s", r.LeaderlessMS, total, r.Availability, span)
	}
	if r.Changes["total"] != 4 || r.Changes["failover"] != 4 {
		t.Errorf("changes %v: want R1, R2, R3 and QL1 (QL2 ends with the same leader)", r.Changes)
	}
	// Elections: R1-R3, QL1, QL2 (not the formation: it has no true start).
	e := r.ElectionMS
	if *e["count"] != 5 || *e["max"] != r.Outages[5].DurationMS || *e["p99"] != *e["max"] || *e["p50"] != r.Outages[1].DurationMS {
		t.Errorf("election_ms %v: want 5, the median R1, the max QL2", map[string]int64{"count": *e["count"], "p50": *e["p50"], "p99": *e["p99"], "max": *e["max"]})
	}
	if len(r.Flapping) != 1 || r.Flapping[0].Changes != 4 || r.Flapping[0].Start != r.Outages[1].End || r.Flapping[0].End != r.Outages[4].End {
		t.Errorf("flapping %+v: want the four changes, from R1's to QL1's", r.Flapping)
	}
}

func abs(f float64) float64 {
	if f < 0 {
		return -f
	}
	return f
}

func TestReportOpenZiti1Text(t *testing.T) {
	out, stderr, code := run(t, nil, append([]string{"report", "-c", "../testdata/openziti-1/rules.yaml"}, openziti1...)...)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	for _, want := range []string{
		"ziti  2026-11-24 13:55:50.499 to 2026-11-24 13:58:59.064 UTC (3m8.564s)\n",
		"  outages       7\n",
		"    2026-11-24 13:55:50.499 to 2026-11-24 13:55:52.590      2.091s  began earlier\n",
		"    2026-11-24 13:56:36.379 to 2026-11-24 13:57:10.398     34.019s\n",
		"    2026-11-24 13:57:19.570 to 2026-11-24 13:58:37.031   1m17.461s  LONGEST\n",
		"  no leader yet at the end\n",
		"  changes       4 (failover 4, transfer 0, unknown 0)\n",
		"  elections     5: p50 6.939s, p99 1m17.461s, max 1m17.461s\n",
		"  flapping      1\n    2026-11-24 13:56:04.061 to 2026-11-24 13:57:10.398  4 changes\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("the report lacks %q:\n%s", want, out)
		}
	}
}

func TestReportPeriodsAndErrors(t *testing.T) {
	base := []string{"report", "-c", "../testdata/openziti-1/rules.yaml", "--format", "json"}
	out, stderr, code := run(t, nil, append(append(base, "--from", "2026-11-24T13:56:30Z", "--to", "2026-11-24 13:58", "--period", "day"), openziti1...)...)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	r := parseReport(t, out)
	if len(r) != 1 || r[0].From != "2026-11-24T13:56:30.000000000Z" || r[0].To != "2026-11-24T13:58:00.000000000Z" || len(r[0].Outages) != 2 ||
		!r[0].Outages[1].ClippedEnd || r[0].Outages[1].End != r[0].To || r[0].Changes["total"] != 1 {
		t.Errorf("QL1 whole and QL2 cut at --to: %s", out)
	}
	for _, c := range []struct {
		args []string
		err  string
	}{
		{[]string{"--period", "month"}, `--period "month": want day or week`},
		{[]string{"--from", "2026-11-25"}, "no time to report on: the recording covers 2026-11-24T13:55:50.499211378Z to"},
		{[]string{"--to", "tomorrow"}, `--to "tomorrow": want a date and time such as`},
		{[]string{"--format", "yaml"}, `--format "yaml": want text or json`},
	} {
		_, stderr, code := run(t, nil, append(append(base, c.args...), openziti1...)...)
		if code != 1 || !strings.Contains(stderr, c.err) {
			t.Errorf("%v: exit %d, %q; want 1 and %q", c.args, code, stderr, c.err)
		}
	}
}

// TestDocsReport runs the commands of docs/report.md from a directory that
// holds what a checkout holds and checks each output the page shows.
func TestDocsReport(t *testing.T) {
	const doc = "docs/report.md"
	dir := t.TempDir()
	if err := os.CopyFS(filepath.Join(dir, "testdata/openziti-1"), os.DirFS("../testdata/openziti-1")); err != nil {
		t.Fatal(err)
	}
	env := append(os.Environ(), "PATH="+filepath.Dir(binary)+string(os.PathListSeparator)+os.Getenv("PATH"))
	var output string
	var last mdBlock
	ran := 0
	for _, b := range readBlocks(t, "../"+doc) {
		switch b.lang {
		case "sh":
			output = ""
			for _, c := range commands(b.text) {
				checkFlags(t, doc, b.line, c)
				cmd := exec.Command("bash", "-c", c)
				cmd.Dir, cmd.Env = dir, env
				var out bytes.Buffer
				cmd.Stdout, cmd.Stderr = &out, &out
				if err := cmd.Run(); err != nil {
					t.Errorf("%s:%d: %s: %v\n%s", doc, b.line, c, err, out.String())
				}
				output += out.String()
				ran++
			}
		case "text":
			if last.lang != "sh" || !b.afterBlock {
				t.Errorf("%s:%d: an output block not right after the commands it shows", doc, b.line)
			} else if missing, n := subsequence(b.text, output); missing != "" {
				t.Errorf("%s:%d: the output lacks line %d of the block, %q (or it is out of order); got:\n%s", doc, b.line+n, n+1, missing, output)
			}
		default:
			t.Errorf("%s:%d: a %q block: this test knows sh and text", doc, b.line, b.lang)
		}
		last = b
	}
	if ran < 2 {
		t.Errorf("%s: ran only %d commands", doc, ran)
	}
}

// TestReportOnADaemonsStateDir reports on what a daemon took in, from the
// flight recording in its state_dir: the outage it saw, from its true
// start to the new leader.
func TestReportOnADaemonsStateDir(t *testing.T) {
	d, dir, config := startAPIDaemon(t, "http://127.0.0.1:9/hook", "  - {name: lost, when: leaderless, actions: [hook]}")
	events := d.baseURL(t) + "/v1/events?cluster=ziti"
	start := time.Now().UTC().Truncate(time.Millisecond)
	lost, back := start.Add(time.Second), start.Add(3*time.Second)
	for _, ev := range []string{eventAt("c1", "state.has_leader", "c1", start), eventAt("c1", "state.is_leaderless", "", lost),
		eventAt("c1", "state.has_leader", "c2", back)} {
		if code, body := post(t, events, "t0k3n", ev); code != 202 {
			t.Fatalf("%d %s", code, body)
		}
	}
	d.stop(t)
	out, errOut, code := run(t, []string{"TEST_TOKEN=t0k3n"}, "report", "-c", config, "--state-dir", filepath.Join(dir, "state"), "--format", "json")
	if code != 0 {
		t.Fatalf("report: exit %d\n%s%s", code, out, errOut)
	}
	var r struct {
		Outages []struct {
			Start      time.Time `json:"start"`
			DurationMS int64     `json:"duration_ms"`
		} `json:"outages"`
	}
	if err := json.Unmarshal([]byte(strings.SplitN(out, "\n", 2)[0]), &r); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if len(r.Outages) != 1 || !r.Outages[0].Start.Equal(lost) || r.Outages[0].DurationMS != 2000 {
		t.Errorf("outages %+v, want one from %s lasting 2s\n%s", r.Outages, lost, out)
	}
}
