package event

import (
	"fmt"
	"strings"
	"testing"
)

// eventWith is a peer.connected event from c1 with the given extra fields.
func eventWith(fields string) string {
	return `{"namespace":"cluster","event_src_id":"c1","timestamp":"2026-11-24T13:55:52Z","eventType":"peer.connected"` + fields + `}`
}

func TestDecodeLimits(t *testing.T) {
	long := strings.Repeat("x", MaxStringBytes+1)
	atLimit := strings.Repeat("é", MaxStringBytes/2) // 2 bytes each
	peers := func(n int) string {
		ids := make([]string, n)
		for i := range ids {
			ids[i] = fmt.Sprintf(`{"id":"p%d"}`, i)
		}
		return `,"peers":[` + strings.Join(ids, ",") + `]`
	}
	members := func(n int) string {
		return `,"members":["` + strings.Repeat(`m","`, n-1) + `m"]`
	}
	cases := []struct {
		name, line, wantErr string
	}{
		{"leaderId at the limit", eventWith(`,"leaderId":"` + atLimit + `"`), ""},
		{"leaderId", `{"namespace":"cluster","event_src_id":"c1","timestamp":"2026-11-24T13:55:52Z","eventType":"state.has_leader","leaderId":"` + long + `"}`,
			`"leaderId" is 257 bytes long, over the limit of 256`},
		{"event_src_id", strings.Replace(eventWith(""), `"c1"`, `"`+long+`"`, 1), `"event_src_id" is 257 bytes long`},
		{"previousLeaderId", eventWith(`,"previousLeaderId":"` + long + `"`), `"previousLeaderId" is 257 bytes long`},
		{"cluster", eventWith(`,"cluster":"` + long + `"`), `"cluster" is 257 bytes long`},
		{"a peer id", eventWith(`,"peers":[{"id":"a"},{"id":"` + long + `"}]`), `"peers[1].id" is 257 bytes long`},
		{"a member", eventWith(`,"members":["a","b","` + long + `"]`), `"members[2]" is 257 bytes long`},
		{"peers at the limit", eventWith(peers(MaxListLen)), ""},
		{"too many peers", eventWith(peers(MaxListLen + 1)), `"peers" has 1001 entries, over the limit of 1000`},
		{"too many members", eventWith(members(MaxListLen + 1)), `"members" has 1001 entries, over the limit of 1000`},
		{"a long timestamp is not repeated whole", strings.Replace(eventWith(""), "2026-11-24T13:55:52Z", long, 1),
			`timestamp "` + strings.Repeat("x", 64) + `"… (257 bytes) is not RFC 3339`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Decode([]byte(tc.line))
			switch {
			case tc.wantErr == "" && err != nil:
				t.Errorf("unexpected error %v", err)
			case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
				t.Errorf("error %v, want it to contain %q", err, tc.wantErr)
			}
		})
	}
}

// A reader skips an event over the limits and reports its line, as it
// does any malformed line.
func TestReaderReportsAnEventOverTheLimits(t *testing.T) {
	input := eventWith(`,"leaderId":"`+strings.Repeat("x", 1<<19)+`"`) + "\n" + eventWith("") + "\n"
	r := NewReader(strings.NewReader(input), "big.jsonl", -1)
	var errs []string
	r.OnError = func(e *LineError) { errs = append(errs, e.Error()) }
	e, err := r.Next()
	if err != nil || e.Type != PeerConnected {
		t.Fatalf("Next = %v, %v", e, err)
	}
	want := `big.jsonl:1: "leaderId" is 524288 bytes long, over the limit of 256`
	if len(errs) != 1 || errs[0] != want {
		t.Errorf("errors %q, want [%q]", errs, want)
	}
}

func TestQuoteShort(t *testing.T) {
	cases := []struct{ in, want string }{
		{"", `""`},
		{"state.bogus", `"state.bogus"`},
		{strings.Repeat("a", 64), `"` + strings.Repeat("a", 64) + `"`},
		// Cut before a rune, never inside one.
		{strings.Repeat("a", 63) + "éé", `"` + strings.Repeat("a", 63) + `"… (67 bytes)`},
	}
	for _, tc := range cases {
		if got := quoteShort(tc.in); got != tc.want {
			t.Errorf("quoteShort(%q) = %s, want %s", tc.in, got, tc.want)
		}
	}
}
