package event

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestDecode(t *testing.T) {
	cases := []struct {
		line    string
		wantErr string
		skipped bool // wantErr is ErrSkipped: not malformed
		check   func(t *testing.T, e Event)
	}{
		{
			line: `{"namespace":"cluster","event_src_id":"ctrl2","timestamp":"2025-01-10T13:54:48.151522421-05:00","eventType":"state.has_leader","leaderId":"ctrl1"}`,
			check: func(t *testing.T, e Event) {
				want := time.Date(2025, 1, 10, 18, 54, 48, 151522421, time.UTC)
				if e.Source != "ctrl2" || e.Type != HasLeader || e.LeaderID != "ctrl1" || !e.Time.Equal(want) {
					t.Errorf("got %+v", e)
				}
			},
		},
		{
			line: `{"namespace":"cluster","event_src_id":"c1","timestamp":"2026-11-24T13:55:52.590647013Z","eventType":"members.changed","index":7,"peers":[{"id":"ctrl1","addr":"tls:x","apiAddresses":null},{"id":"ctrl2"}]}`,
			check: func(t *testing.T, e Event) {
				if e.Index != 7 || strings.Join(e.Peers, ",") != "ctrl1,ctrl2" {
					t.Errorf("got %+v", e)
				}
			},
		},
		{line: `{"namespace":"fabric","event_src_id":"c1","timestamp":"2026-11-24T13:55:52Z","eventType":"x"}`, wantErr: `namespace "fabric"`, skipped: true},
		{line: `not json`, wantErr: "not a JSON object"},
		{line: `{"namespace":"cluster"`, wantErr: "invalid JSON"},
		{line: `{"event_src_id":"c1","timestamp":"2026-11-24T13:55:52Z","eventType":"state.rw"}`, wantErr: `missing "namespace"`},
		{line: `{"namespace":"cluster","event_src_id":"c1","timestamp":"2026-11-24T13:55:52Z"}`, wantErr: `missing "eventType"`},
		{line: `{"namespace":"cluster","event_src_id":"c1","timestamp":"2026-11-24T13:55:52Z","eventType":""}`, wantErr: `missing "eventType"`},
		// A type a newer OpenZiti adds is skipped, not malformed, once the
		// checks every cluster event passes are passed.
		{line: `{"namespace":"cluster","event_src_id":"c1","timestamp":"2026-11-24T13:55:52Z","eventType":"state.bogus"}`, wantErr: `eventType "state.bogus"`, skipped: true},
		{line: `{"namespace":"fabric","event_src_id":"c1","timestamp":"2026-11-24T13:55:52Z","eventType":"state.bogus"}`, wantErr: `namespace "fabric"`, skipped: true},
		{line: `{"event_src_id":"c1","timestamp":"2026-11-24T13:55:52Z","eventType":"state.bogus"}`, wantErr: `missing "namespace"`},
		{line: `{"namespace":"cluster","timestamp":"2026-11-24T13:55:52Z","eventType":"state.bogus"}`, wantErr: `missing "event_src_id"`},
		{line: `{"namespace":"cluster","event_src_id":"c1","eventType":"state.bogus"}`, wantErr: `missing "timestamp"`},
		{line: `{"namespace":"cluster","event_src_id":"c1","timestamp":"2026-11-24T13:55:52Z","eventType":"state.bogus","leaderId":7}`, wantErr: `"leaderId": got number, want string`},
		{line: `{"namespace":"cluster","event_src_id":"c1","timestamp":"2026-11-24T13:55:52Z","eventType":"state.bogus","leaderId":"` + strings.Repeat("x", MaxStringBytes+1) + `"}`,
			wantErr: `"leaderId" is 257 bytes long`},
		{line: `{"namespace":"cluster","event_src_id":"c1","timestamp":"2026-11-24T13:55:52Z","eventType":"state.bogus","peers":[{"addr":"x"}]}`, wantErr: `peers[0] without "id"`},
		{line: `{"namespace":"cluster","event_src_id":"c1","timestamp":"2026-11-24T13:55:52Z","eventType":"` + strings.Repeat("x", MaxStringBytes+1) + `"}`,
			wantErr: `"eventType" is 257 bytes long`},
		{line: `{"namespace":"cluster","timestamp":"2026-11-24T13:55:52Z","eventType":"state.rw"}`, wantErr: `missing "event_src_id"`},
		{line: `{"namespace":"cluster","event_src_id":"","timestamp":"2026-11-24T13:55:52Z","eventType":"state.rw"}`, wantErr: `missing "event_src_id"`},
		{line: `{"namespace":"cluster","timestamp":"2026-11-24T13:55:52Z","eventType":"members.changed","peers":[{"id":"a"}]}`, wantErr: `missing "event_src_id"`},
		{
			// What a poll source's membership is written as.
			line: `{"namespace":"cluster","event_src_id":"","timestamp":"2026-11-24T13:55:52Z","eventType":"members.changed","index":3,"peers":[{"id":"a"}]}`,
			check: func(t *testing.T, e Event) {
				if e.Source != "" || e.Index != 3 || strings.Join(e.Peers, ",") != "a" {
					t.Errorf("got %+v", e)
				}
			},
		},
		{line: `{"namespace":"cluster","event_src_id":"c1","eventType":"state.rw"}`, wantErr: `missing "timestamp"`},
		{line: `{"namespace":"cluster","event_src_id":"c1","timestamp":"yesterday","eventType":"state.rw"}`, wantErr: `timestamp "yesterday" is not RFC 3339`},
		{line: `{"namespace":"cluster","event_src_id":"c1","timestamp":"2026-11-24T13:55:52Z","eventType":"state.has_leader"}`, wantErr: `state.has_leader without "leaderId"`},
		{line: `{"namespace":"cluster","event_src_id":"c1","timestamp":"2026-11-24T13:55:52Z","eventType":42}`, wantErr: `"eventType": got number, want string`},
		{line: `{"namespace":"cluster","event_src_id":"c1","timestamp":"2026-11-24T13:55:52Z","eventType":"peer.connected","peers":[{"addr":"x"}]}`, wantErr: `peers[0] without "id"`},
		{line: `{"namespace":"cluster","event_src_id":"c1","timestamp":"2026-11-24T13:55:52Z","eventType":"peer.connected","peers":"ctrl1"}`, wantErr: `"peers": got string, want array`},
	}
	for _, tc := range cases {
		e, err := Decode([]byte(tc.line))
		switch {
		case tc.wantErr == "" && err != nil:
			t.Errorf("%s: unexpected error %v", tc.line, err)
		case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
			t.Errorf("%s: error %v, want it to contain %q", tc.line, err, tc.wantErr)
		case errors.Is(err, ErrSkipped) != tc.skipped:
			t.Errorf("%s: error %v is ErrSkipped: %v, want %v", tc.line, err, !tc.skipped, tc.skipped)
		case tc.check != nil:
			tc.check(t, e)
		}
	}
}

func TestRoundTrip(t *testing.T) {
	in := Event{Source: DetectorSource, Time: time.Date(2026, 1, 1, 0, 0, 1, 5, time.UTC), Type: Leaderless,
		Cluster: "z", PreviousLeaderID: "a", Since: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), Members: []string{"a", "b"}}
	data, err := in.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	out, err := Decode(data)
	if err != nil {
		t.Fatalf("%s: %v", data, err)
	}
	if !out.Time.Equal(in.Time) || !out.Since.Equal(in.Since) || out.Cluster != "z" || out.PreviousLeaderID != "a" || !out.IsState() || len(out.Members) != 2 {
		t.Errorf("round trip: %s -> %+v", data, out)
	}
}

func TestReaderOrdersAndReportsLines(t *testing.T) {
	input := strings.Join([]string{
		`{"namespace":"cluster","event_src_id":"a","timestamp":"2026-01-01T00:00:05Z","eventType":"state.is_leaderless"}`,
		`{"namespace":"cluster","event_src_id":"a","timestamp":"2026-01-01T00:00:02Z","eventType":"leadership.lost"}`,
		``,
		`garbage`,
		`{"namespace":"edge","event_src_id":"a","timestamp":"2026-01-01T00:00:03Z","eventType":"x"}`,
		`{"namespace":"cluster","event_src_id":"a","timestamp":"2026-01-01T00:00:30Z","eventType":"state.has_leader","leaderId":"a"}`,
		`{"namespace":"cluster","event_src_id":"a","timestamp":"2026-01-01T00:00:31Z","eventType":"state.new_in_ziti"}`,
	}, "\n")
	r := NewReader(strings.NewReader(input), "x.jsonl", 0)
	var errs, skips []string
	r.OnError = func(e *LineError) { errs = append(errs, e.Error()) }
	r.OnSkip = func(e *LineError) { skips = append(skips, e.Error()) }
	var got []string
	for {
		e, err := r.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, e.Type)
	}
	if strings.Join(got, " ") != "leadership.lost state.is_leaderless state.has_leader" {
		t.Errorf("order: %v", got)
	}
	if len(errs) != 1 || !strings.HasPrefix(errs[0], "x.jsonl:4: not a JSON object") {
		t.Errorf("errors: %q", errs)
	}
	if r.Ignored != 2 || r.Rejected != 1 {
		t.Errorf("ignored %d rejected %d", r.Ignored, r.Rejected)
	}
	if len(skips) != 2 || !strings.HasPrefix(skips[0], `x.jsonl:5: skipped: namespace "edge"`) ||
		!strings.HasPrefix(skips[1], `x.jsonl:7: skipped: eventType "state.new_in_ziti" unknown`) {
		t.Errorf("skipped: %q", skips)
	}
}

func TestMergeFixture(t *testing.T) {
	var sources []Source
	total := 0
	for _, n := range []string{"1", "2", "3"} {
		data, err := os.ReadFile(filepath.Join("..", "testdata", "openziti-1", "events-ctrl"+n+".jsonl"))
		if err != nil {
			t.Fatal(err)
		}
		total += strings.Count(string(data), "\n")
		r := NewReader(strings.NewReader(string(data)), n, 0)
		r.OnError = func(e *LineError) { t.Errorf("rejected: %v", e) }
		sources = append(sources, r)
	}
	m := Merge(sources...)
	var last time.Time
	n := 0
	for {
		e, err := m.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if e.Time.Before(last) {
			t.Fatalf("out of order: %v after %v", e.Time, last)
		}
		last = e.Time
		n++
	}
	if n != total {
		t.Errorf("merged %d events, want %d", n, total)
	}
}

func TestLongLineRejected(t *testing.T) {
	long := `{"namespace":"cluster","event_src_id":"` + strings.Repeat("x", MaxLineBytes) + `"}`
	input := long + "\n" + `{"namespace":"cluster","event_src_id":"a","timestamp":"2026-01-01T00:00:05Z","eventType":"state.rw"}` + "\n"
	r := NewReader(strings.NewReader(input), "big", 0)
	var errs []string
	r.OnError = func(e *LineError) { errs = append(errs, e.Error()) }
	e, err := r.Next()
	if err != nil || e.Type != ReadWrite {
		t.Fatalf("Next = %v %v", e, err)
	}
	if len(errs) != 1 || !strings.Contains(errs[0], "big:1: line longer than") {
		t.Errorf("errors: %q", errs)
	}
}

func TestPrefetchDeliversEverythingInOrder(t *testing.T) {
	var b strings.Builder
	for i := range 2000 {
		fmt.Fprintf(&b, `{"namespace":"cluster","event_src_id":"a","timestamp":"2026-01-01T00:00:%02d.%06dZ","eventType":"state.rw"}`+"\n", i/1000, i)
	}
	b.WriteString("bad line\n")
	r := NewReader(strings.NewReader(b.String()), "x", 0)
	p := Prefetch(r)
	defer p.Close()
	n := 0
	for {
		_, err := p.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		n++
	}
	if n != 2000 || r.Rejected != 1 {
		t.Errorf("got %d events, %d rejected", n, r.Rejected)
	}
}

// An event whose event_src_id is leaderhook's own is one of its state
// events: a recording's, which replay reads (Decode, a Reader) and takes.
// A live input (DecodeLive, a Reader marked Live) skips it as one
// leaderhook does not take: taken, it would be announced to the rules as
// the cluster's state without the view, from any sender.
func TestOwnStateEventsAreTakenFromRecordingsOnly(t *testing.T) {
	own := `{"namespace":"cluster","event_src_id":"leaderhook","timestamp":"2026-01-01T00:00:05Z","eventType":"state.is_leaderless","cluster":"ziti"}`
	member := `{"namespace":"cluster","event_src_id":"a","timestamp":"2026-01-01T00:00:06Z","eventType":"state.is_leaderless"}`
	const reason = `skipped: event_src_id "leaderhook" marks leaderhook's own state events, taken from recordings by replay only`
	for _, tc := range []struct {
		name      string
		decode    func([]byte) (Event, error)
		live      bool
		wantTypes string
		wantSkips []string
	}{
		{"recorded", Decode, false, "state.is_leaderless state.is_leaderless", nil},
		{"live", DecodeLive, true, "state.is_leaderless", []string{"x.jsonl:1: " + reason}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := tc.decode([]byte(own))
			if got := err != nil; got != tc.live || (tc.live && (!errors.Is(err, ErrSkipped) || err.Error() != reason)) {
				t.Errorf("decoding: %v", err)
			}
			if _, err := tc.decode([]byte(member)); err != nil {
				t.Errorf("a member's report: %v", err)
			}
			r := NewReader(strings.NewReader(own+"\n"+member+"\n"), "x.jsonl", -1)
			r.Live = tc.live
			var skips []string
			r.OnSkip = func(e *LineError) { skips = append(skips, e.Error()) }
			var got []string
			for e, err := r.Next(); !errors.Is(err, io.EOF); e, err = r.Next() {
				got = append(got, e.Type)
			}
			if strings.Join(got, " ") != tc.wantTypes || strings.Join(skips, "|") != strings.Join(tc.wantSkips, "|") || r.Ignored != len(tc.wantSkips) {
				t.Errorf("read %v, skipped %q (ignored %d); want %s, %q", got, skips, r.Ignored, tc.wantTypes, tc.wantSkips)
			}
		})
	}
}
