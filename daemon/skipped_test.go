package daemon

import (
	"fmt"
	"log/slog"
	"maps"
	"strings"
	"testing"

	"github.com/leaderhook/leaderhook/event"
)

// An unknown eventType is told of once, whichever cluster and input bring
// it again; another namespace is not told of. Each is counted.
func TestSkipLogTellsOfEachUnknownTypeOnce(t *testing.T) {
	var logs strings.Builder
	counts := map[string]int{}
	s := &skipLog{log: slog.New(slog.NewTextHandler(&logs, nil)), count: func(cluster, input string) { counts[cluster+" "+input]++ }}
	decode := func(namespace, typ string) error {
		_, err := event.Decode(fmt.Appendf(nil, `{"namespace":%q,"event_src_id":"c1","timestamp":"2026-01-01T00:00:00Z","eventType":%q}`, namespace, typ))
		return err
	}
	s.skipped("ziti", "http", &event.LineError{Name: "POST /v1/events from 127.0.0.1:5000", Line: 2, Err: decode("cluster", "state.new")})
	s.skipped("other", "/var/log/events.jsonl", &event.LineError{Name: "/var/log/events.jsonl", Line: 9, Err: decode("cluster", "state.new")})
	s.skipped("ziti", "stdin", &event.LineError{Name: "stdin", Line: 3, Err: decode("cluster", "state.typo")})
	s.skipped("ziti", "stdin", &event.LineError{Name: "stdin", Line: 4, Err: decode("fabric", "x")})
	if want := map[string]int{"ziti http": 1, "other /var/log/events.jsonl": 1, "ziti stdin": 2}; !maps.Equal(counts, want) {
		t.Errorf("counted %v, want %v", counts, want)
	}
	l := logs.String()
	for _, want := range []string{
		`event_type=state.new cluster=ziti event_src_id=c1 from="POST /v1/events from 127.0.0.1:5000" line=2`,
		`event_type=state.typo cluster=ziti event_src_id=c1 from=stdin line=3`,
	} {
		if !strings.Contains(l, want) {
			t.Errorf("no line with %q:\n%s", want, l)
		}
	}
	if n := strings.Count(l, "level=WARN"); n != 2 {
		t.Errorf("%d lines, want 2 (one per type):\n%s", n, l)
	}
}
