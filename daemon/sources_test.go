package daemon

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/leaderhook/leaderhook/config"
	"github.com/leaderhook/leaderhook/detector"
	"github.com/leaderhook/leaderhook/event"
)

// A file source restarted by a reload goes on where the old one stopped
// reading, which it did until the reload applied, not where it stood when
// the reload was prepared: no line is read twice.
func TestRestartedFileSourceReadsEachLineOnce(t *testing.T) {
	path := filepath.Join(t.TempDir(), "events.jsonl")
	if err := os.WriteFile(path, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	configWith := func(http bool) *config.Config {
		src := detector.Source{Type: detector.SourceEvents, File: path, HTTP: http}
		return &config.Config{Clusters: []detector.Cluster{{Name: "ziti", Source: src}}}
	}
	out := make(chan event.Event, 16)
	s := &sources{ctx: t.Context(), out: out, stdin: strings.NewReader(""), positions: &positionBook{}, log: testLogger(t),
		onReject: func(string, string) {}}
	run := func(cfg *config.Config) *plan {
		t.Helper()
		p, err := s.prepare(cfg)
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	s.apply(run(configWith(false)))
	t.Cleanup(s.wait)                // the sources end with the test's context
	restart := run(configWith(true)) // another definition, the same file
	appendLine(t, path, ev("c1", "state.has_leader", "before"))
	if got := nextLeader(t, out); got != "before" {
		t.Fatalf("the old source read leader %q, want before", got)
	}
	s.apply(restart)
	appendLine(t, path, ev("c1", "state.has_leader", "after"))
	if got := nextLeader(t, out); got != "after" {
		t.Errorf("the restarted source read leader %q, want after", got)
	}
}

func nextLeader(t *testing.T, out <-chan event.Event) string {
	t.Helper()
	select {
	case ev := <-out:
		return ev.LeaderID
	case <-time.After(15 * time.Second):
		t.Fatal("timed out waiting for an event")
		return ""
	}
}

// When stdin ends (the program piping events exits), the daemon goes on
// and says that no more events come from it.
func TestStdinEndIsLogged(t *testing.T) {
	h := newHarness(t, `server: {listen: "127.0.0.1:0"}
state_dir: {{.Dir}}/state
clusters:
  - {name: ziti, stabilize: 0s, source: {type: events, stdin: true}}
`, nil)
	log := &bufferLog{}
	h.start(Options{Stdin: strings.NewReader(ev("c1", "state.has_leader", "c1") + "\n"),
		Log: log.logger()})
	waitFor(t, "the event from stdin", func() bool { return h.cluster("ziti").HasLeader })
	waitFor(t, "the end of stdin in the log", func() bool { return strings.Contains(log.String(), "stdin ended") })
	if code, _ := h.get("/readyz"); code != 200 {
		t.Errorf("readyz %d after stdin ended, want 200", code)
	}
}
