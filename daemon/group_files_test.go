package daemon

import (
	"fmt"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/leaderhook/leaderhook/event"
)

// groupFileConfig is a node of a group of three whose cluster's events
// come from a followed file, with fail-open off: without a leader, the
// events wait.
const groupFileConfig = `server: {listen: "127.0.0.1:0"}
state_dir: {{.Dir}}/state
clusters:
  - {name: ziti, stabilize: 0s, source: {type: events, file: "{{.Dir}}/ziti.jsonl"}}
actions:
  hook: {type: webhook, url: "{{.Hook}}", retry: {max_attempts: 50, initial_backoff: 50ms, max_backoff: 100ms}}
rules:
  - {name: lost, when: leaderless, actions: [hook], on_resolve: [hook]}
ha:
  node_id: {{.ID}}
  bind: "{{.Bind}}"
  data_dir: {{.Dir}}/raft
  fail_open_after: 0s
  peers:
{{range .Peers}}    - {id: {{.ID}}, address: "{{.Addr}}"}
{{end}}`

type groupPeer struct{ ID, Addr string }

// groupOfThree is the harnesses of a group of three nodes, none running.
func groupOfThree(t *testing.T, config, hook string) []*harness {
	peers := make([]groupPeer, 3)
	for i := range peers {
		peers[i] = groupPeer{ID: fmt.Sprint("n", i+1), Addr: freeAddr(t)}
	}
	hs := make([]*harness, 3)
	for i, p := range peers {
		hs[i] = newHarness(t, config, map[string]any{"Hook": hook, "ID": p.ID, "Bind": p.Addr, "Peers": peers})
	}
	return hs
}

// runSources runs h's daemon until its sources have started: a line
// written before would be taken for one written before the start.
func (h *harness) runSources(opts Options) {
	h.t.Helper()
	h.run(opts)
	waitFor(h.t, "the sources to start", func() bool {
		h.d.mu.Lock()
		defer h.d.mu.Unlock()
		return h.d.taking // after the sources started
	})
}

// A node's file source reads a loss while the group has no leader: the
// events wait for one. Restarted meanwhile, the node must read them again,
// not resume past them: the group would never have them, and the loss
// would never page.
func TestGroupHandsOverFileEventsReadBeforeARestartWithoutLeader(t *testing.T) {
	for _, tc := range []struct {
		name        string
		fileAtStart bool // else it appears after the node starts
		restart     bool
	}{
		{name: "not restarted"},
		{name: "restarted, file appeared after the start", restart: true},
		{name: "restarted, file there at the start", fileAtStart: true, restart: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			recv := &receiver{}
			srv := httptest.NewServer(recv)
			t.Cleanup(srv.Close)
			hs := groupOfThree(t, groupFileConfig, srv.URL)
			n1, file := hs[0], filepath.Join(hs[0].dir, "ziti.jsonl")
			if tc.fileAtStart {
				if err := os.WriteFile(file, nil, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			n1.runSources(Options{})
			now := time.Now()
			appendLine(t, file, evAt("c1", event.HasLeader, "c1", now))
			appendLine(t, file, evAt("c1", event.Leaderless, "", now.Add(time.Millisecond)))
			info, err := os.Stat(file)
			if err != nil {
				t.Fatal(err)
			}
			waitFor(t, "the file read", func() bool { return n1.d.sources.positions.get(file).Offset == info.Size() })
			if tc.restart {
				if err := n1.stop(); err != nil {
					t.Fatal(err)
				}
				n1.runSources(Options{})
			}
			for _, h := range hs[1:] {
				h.run(Options{})
			}
			waitFor(t, "the loss read before the group had a leader to page", func() bool {
				return recv.received("lost", "firing") == 1
			})
		})
	}
}
