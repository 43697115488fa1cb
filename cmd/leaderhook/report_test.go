package main

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestReportOnARecordingCoversTheTimeItRecorded: a daemon that saw its
// cluster's leader go (the last event) and announced the loss once the
// stabilize period had passed (a time line) knew the cluster was
// leaderless until the recording's last line. The report covers that
// time: it is not a cluster with a leader all along.
func TestReportOnARecordingCoversTheTimeItRecorded(t *testing.T) {
	// As `leaderhook run` recorded it.
	config, recording := writeRecording(t,
		`{"namespace":"leaderhook","eventType":"start","timestamp":"2026-12-07T08:06:42.000000000Z","state":{"engine":{"clusters":null},"views":null}}`,
		`{"namespace":"cluster","event_src_id":"c1","timestamp":"2026-12-07T08:06:44.000000000Z","eventType":"state.has_leader","leaderId":"c1","cluster":"ziti"}`,
		`{"namespace":"cluster","event_src_id":"c1","timestamp":"2026-12-07T08:06:45.000000000Z","eventType":"state.is_leaderless","cluster":"ziti"}`,
		`{"namespace":"leaderhook","eventType":"time","timestamp":"2026-12-07T08:06:47.000000000Z"}`,
		`{"namespace":"leaderhook","eventType":"time","timestamp":"2026-12-07T08:06:55.000000000Z"}`,
	)
	dir := filepath.Dir(recording)
	out, stderr, code := leaderhook(t, "report", "-c", config, "--state-dir", dir, "--format", "json")
	if code != 0 {
		t.Fatalf("exit %d\n%s%s", code, out, stderr)
	}
	var r struct {
		To           time.Time `json:"to"`
		LeaderlessMS int64     `json:"leaderless_ms"`
	}
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	end := time.Date(2026, 12, 7, 8, 6, 55, 0, time.UTC)
	if !r.To.Equal(end) || r.LeaderlessMS != 10000 {
		t.Errorf("period to %s, %dms without a leader; want to %s, 10000ms\n%s", r.To, r.LeaderlessMS, end, out)
	}
}

// TestReportOnARecordingBegunWithoutALeader: a flight recording whose
// start was rotated away begins with a checkpoint of a cluster already
// without a leader: the report counts that outage from the period's start,
// the checkpoint, to the announcement of a leader (both members follow
// it), as the daemon knew it.
func TestReportOnARecordingBegunWithoutALeader(t *testing.T) {
	config, recording := writeRecording(t,
		`{"namespace":"leaderhook","eventType":"checkpoint","timestamp":"2026-12-07T08:06:39.000000000Z","state":{"engine":{"clusters":null},`+
			`"views":{"ziti":{"Known":true,"PreviousLeaderID":"c2","Since":"2026-12-07T08:00:00Z","Members":["c1","c2"],"Reports":{"c1":{"follows":""},"c2":{"follows":"","down":true}}}}}}`,
		`{"namespace":"cluster","event_src_id":"c1","timestamp":"2026-12-07T08:06:40.000000000Z","eventType":"state.is_leaderless","cluster":"ziti"}`,
		`{"namespace":"cluster","event_src_id":"c1","timestamp":"2026-12-07T08:06:44.000000000Z","eventType":"state.has_leader","leaderId":"c1","cluster":"ziti"}`,
		`{"namespace":"cluster","event_src_id":"c2","timestamp":"2026-12-07T08:06:45.000000000Z","eventType":"state.has_leader","leaderId":"c1","cluster":"ziti"}`,
		`{"namespace":"leaderhook","eventType":"time","timestamp":"2026-12-07T08:06:50.000000000Z"}`,
	)
	dir := filepath.Dir(recording)
	out, stderr, code := leaderhook(t, "report", "-c", config, "--state-dir", dir, "--format", "json")
	if code != 0 {
		t.Fatalf("exit %d\n%s%s", code, out, stderr)
	}
	var r struct {
		LeaderlessMS int64 `json:"leaderless_ms"`
		UnwatchedMS  int64 `json:"unwatched_ms"`
		Outages      []struct {
			ClippedStart bool `json:"clipped_start"`
		} `json:"outages"`
	}
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if r.LeaderlessMS != 6000 || r.UnwatchedMS != 0 || len(r.Outages) != 1 || !r.Outages[0].ClippedStart {
		t.Errorf("%dms without a leader, %dms not watched, outages %+v; want 6000ms from the checkpoint to the leader c1 and c2 follow, all watched\n%s%s", r.LeaderlessMS, r.UnwatchedMS, r.Outages, out, stderr)
	}
}

// TestReportOnARecordingCountsFromTheStateItRestored: the period of a
// flight recording begins where the daemon knew its clusters' states, at
// the start (or, its start rotated away, the checkpoint) it restored them
// from, not at the first member event: a daemon started knowing its
// cluster without a leader, hearing nothing for an hour but heartbeats,
// watched that hour without a leader; one that heard nothing all week but
// heartbeats reports a week with a leader.
func TestReportOnARecordingCountsFromTheStateItRestored(t *testing.T) {
	const (
		leaderless = `"views":{"ziti":{"Known":true,"PreviousLeaderID":"c1","Since":"2026-12-07T07:59:00Z","Members":["c1","c2"],"Reports":{"c1":{"follows":""},"c2":{"follows":""}}}}}}`
		led        = `"views":{"ziti":{"Known":true,"LeaderID":"c1","Since":"2026-12-01T00:00:00Z","Members":["c1","c2"],"Reports":{"c1":{"follows":"c1"},"c2":{"follows":"c1"}}}}}}`
	)
	restored := func(kind, views string) string {
		return `{"namespace":"leaderhook","eventType":"` + kind + `","timestamp":"2026-12-07T08:00:00.000000000Z","state":{"engine":{"clusters":null},` + views
	}
	heartbeat := func(at string) string {
		return `{"namespace":"leaderhook","eventType":"heartbeat","timestamp":"2026-12-` + at + `:00.000000000Z"}`
	}
	hasLeader := func(member string) string {
		return `{"namespace":"cluster","event_src_id":"` + member + `","timestamp":"2026-12-07T09:00:00.000000000Z","eventType":"state.has_leader","leaderId":"c1","cluster":"ziti"}`
	}
	hour := time.Hour.Milliseconds()
	cases := []struct {
		name         string
		lines        []string
		to           string
		leaderlessMS int64
		availability float64
	}{
		{"leaderless an hour from the start", []string{restored("start", leaderless), heartbeat("07T08:01"), heartbeat("07T08:59"),
			hasLeader("c1"), hasLeader("c2"), heartbeat("07T09:01")}, "2026-12-07T09:01:00Z", hour, 1.0 / 61},
		{"leaderless an hour from a checkpoint", []string{restored("checkpoint", leaderless), heartbeat("07T08:01"), heartbeat("07T08:59"),
			hasLeader("c1"), hasLeader("c2"), heartbeat("07T09:01")}, "2026-12-07T09:01:00Z", hour, 1.0 / 61},
		{"a quiet week with a leader", []string{restored("start", led), heartbeat("07T08:01"), heartbeat("14T08:00")},
			"2026-12-14T08:00:00Z", 0, 1},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			out, stderr := reportOnRecording(t, c.lines...)
			var r struct {
				From, To     time.Time
				LeaderlessMS int64   `json:"leaderless_ms"`
				Availability float64 `json:"availability"`
			}
			if err := json.Unmarshal([]byte(out), &r); err != nil {
				t.Fatalf("%v\n%s", err, out)
			}
			from := time.Date(2026, 12, 7, 8, 0, 0, 0, time.UTC)
			if !r.From.Equal(from) || r.To.Format(time.RFC3339) != c.to || r.LeaderlessMS != c.leaderlessMS || math.Abs(r.Availability-c.availability) > 1e-9 {
				t.Errorf("from %s to %s, %dms without a leader, availability %v; want from %s to %s, %dms, %v\n%s%s",
					r.From, r.To, r.LeaderlessMS, r.Availability, from, c.to, c.leaderlessMS, c.availability, out, stderr)
			}
		})
	}
}

// TestReportCountsLeaderhooksDowntimeAsNotWatched: a daemon that saw its
// cluster lose its leader, then stopped (cleanly: a stop line; or killed:
// its last line a heartbeat), and started again an hour later with the
// cluster still without a leader until a leader is announced. The time it
// was down is not watched, neither led nor leaderless: the outage counts
// up to the stop (or the last line before the crash) and again from the
// restart, as the restart's state says.
func TestReportCountsLeaderhooksDowntimeAsNotWatched(t *testing.T) {
	before := []string{
		`{"namespace":"leaderhook","eventType":"start","timestamp":"2026-12-07T08:00:00.000000000Z","state":{"engine":{"clusters":null},"views":null}}`,
		`{"namespace":"cluster","event_src_id":"c1","timestamp":"2026-12-07T08:00:01.000000000Z","eventType":"state.has_leader","leaderId":"c1","cluster":"ziti"}`,
		`{"namespace":"cluster","event_src_id":"c1","timestamp":"2026-12-07T08:00:30.000000000Z","eventType":"state.is_leaderless","cluster":"ziti"}`,
		`{"namespace":"leaderhook","eventType":"time","timestamp":"2026-12-07T08:00:32.000000000Z"}`,
		`{"namespace":"leaderhook","eventType":"heartbeat","timestamp":"2026-12-07T08:01:32.000000000Z"}`,
	}
	stop := `{"namespace":"leaderhook","eventType":"stop","timestamp":"2026-12-07T08:01:40.000000000Z"}`
	after := []string{
		`{"namespace":"leaderhook","eventType":"start","timestamp":"2026-12-07T09:00:00.000000000Z","state":{"engine":{"clusters":null},` +
			`"views":{"ziti":{"Known":true,"PreviousLeaderID":"c1","Since":"2026-12-07T08:00:30Z","Members":["c1"],"Reports":{"c1":{"follows":""}}}}}}`,
		`{"namespace":"cluster","event_src_id":"c1","timestamp":"2026-12-07T09:00:10.000000000Z","eventType":"state.has_leader","leaderId":"c1","cluster":"ziti"}`,
		`{"namespace":"leaderhook","eventType":"heartbeat","timestamp":"2026-12-07T09:01:10.000000000Z"}`,
	}
	cases := []struct {
		name                  string
		lines                 []string
		leaderless, unwatched time.Duration
		stoppedAt             string
	}{
		// 08:00:30 to the stop, 09:00:00 to 09:00:10; not watched from the stop to the start.
		{"clean stop", append(append(append([]string{}, before...), stop), after...), 80 * time.Second, 58*time.Minute + 20*time.Second, "2026-12-07T08:01:40"},
		// As above, but to the last heartbeat: at most a minute before the crash.
		{"kill -9", append(append([]string{}, before...), after...), 72 * time.Second, 58*time.Minute + 28*time.Second, "2026-12-07T08:01:32"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			out, stderr := reportOnRecording(t, c.lines...)
			var r struct {
				To           time.Time `json:"to"`
				LeaderlessMS int64     `json:"leaderless_ms"`
				UnwatchedMS  int64     `json:"unwatched_ms"`
				Outages      []struct {
					Start, End   string
					ClippedStart bool `json:"clipped_start"`
					ClippedEnd   bool `json:"clipped_end"`
				} `json:"outages"`
				ElectionMS struct {
					Count int `json:"count"`
				} `json:"election_ms"`
			}
			if err := json.Unmarshal([]byte(out), &r); err != nil {
				t.Fatalf("%v\n%s", err, out)
			}
			end := time.Date(2026, 12, 7, 9, 1, 10, 0, time.UTC) // the last heartbeat
			if !r.To.Equal(end) || r.LeaderlessMS != c.leaderless.Milliseconds() || r.UnwatchedMS != c.unwatched.Milliseconds() {
				t.Errorf("to %s, %dms without a leader, %dms not watched; want to %s, %dms, %dms\n%s%s",
					r.To, r.LeaderlessMS, r.UnwatchedMS, end, c.leaderless.Milliseconds(), c.unwatched.Milliseconds(), out, stderr)
			}
			if len(r.Outages) != 2 || !strings.HasPrefix(r.Outages[0].End, c.stoppedAt) || !r.Outages[0].ClippedEnd || !strings.HasPrefix(r.Outages[1].Start, "2026-12-07T09:00:00") ||
				!r.Outages[1].ClippedStart || r.ElectionMS.Count != 0 {
				t.Errorf("outages %+v, %d elections; want one cut at %s, one from the restart (began earlier), no election (its end was not seen)\n%s",
					r.Outages, r.ElectionMS.Count, c.stoppedAt, out)
			}
		})
	}
}

// TestReportOnARecordingReportsTheClusterNamed: a flight recording names
// each event's cluster. Without --cluster, report covers every cluster of
// the recording, as replay does, even when the config has several; with
// it, only the cluster named.
func TestReportOnARecordingReportsTheClusterNamed(t *testing.T) {
	config, recording := writeRecording(t, recordedStart,
		`{"namespace":"cluster","event_src_id":"c1","timestamp":"2026-12-07T08:06:44.000000000Z","eventType":"state.has_leader","leaderId":"c1","cluster":"ziti"}`,
		`{"namespace":"cluster","event_src_id":"o1","timestamp":"2026-12-07T08:06:45.000000000Z","eventType":"state.has_leader","leaderId":"o1","cluster":"other"}`,
		`{"namespace":"leaderhook","eventType":"time","timestamp":"2026-12-07T08:06:50.000000000Z"}`,
	)
	threeClusters := "clusters:\n  - {name: ziti, stabilize: 2s, source: {type: events, http: true}}\n" +
		"  - {name: other, stabilize: 2s, source: {type: events, http: true}}\n" +
		"  - {name: idle, stabilize: 2s, source: {type: events, http: true}}\n" +
		"actions:\n  hook: {type: webhook, url: \"http://127.0.0.1:9/hook\"}\n" +
		"rules:\n  - {name: lost, when: leaderless, actions: [hook]}\n"
	if err := os.WriteFile(config, []byte(threeClusters), 0o644); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name    string
		flags   []string
		want    []string
		wantErr string // on stderr, with exit 1
	}{
		{"every cluster", nil, []string{"other", "ziti"}, ""},
		{"--cluster other", []string{"--cluster", "other"}, []string{"other"}, ""},
		{"--cluster ziti", []string{"--cluster", "ziti"}, []string{"ziti"}, ""},
		{"a cluster the recording says nothing of", []string{"--cluster", "idle"}, nil, `the recording holds no state of cluster "idle"`},
		{"a cluster not in the config", []string{"--cluster", "nope"}, nil, `--cluster "nope" is not in the config`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			for _, input := range [][]string{{"--state-dir", filepath.Dir(recording)}, {recording}} {
				args := append([]string{"report", "-c", config, "--format", "json"}, c.flags...)
				out, stderr, code := leaderhook(t, append(args, input...)...)
				if c.wantErr != "" {
					if code != 1 || out != "" || !strings.Contains(stderr, c.wantErr) {
						t.Errorf("%v: exit %d; want 1, nothing reported, and %q\n%s%s", input, code, c.wantErr, out, stderr)
					}
					continue
				}
				if code != 0 {
					t.Fatalf("%v: exit %d\n%s%s", input, code, out, stderr)
				}
				if got := reportedClusters(t, out); !slices.Equal(got, c.want) {
					t.Errorf("%v: reported %v, want %v\n%s", input, got, c.want, out)
				}
			}
		})
	}
}

// reportedClusters are the clusters of report's JSON lines, sorted.
func reportedClusters(t *testing.T, out string) []string {
	t.Helper()
	var names []string
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		var r struct {
			Cluster string `json:"cluster"`
		}
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			t.Fatalf("%v\n%s", err, out)
		}
		names = append(names, r.Cluster)
	}
	slices.Sort(names)
	return names
}

// reportOnRecording writes a flight recording of lines and returns what
// report --format json says of it, failing the test if it fails.
func reportOnRecording(t *testing.T, lines ...string) (out, stderr string) {
	t.Helper()
	config, recording := writeRecording(t, lines...)
	out, stderr, code := leaderhook(t, "report", "-c", config, "--state-dir", filepath.Dir(recording), "--format", "json")
	if code != 0 {
		t.Fatalf("exit %d\n%s%s", code, out, stderr)
	}
	return out, stderr
}
