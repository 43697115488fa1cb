package daemon

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/leaderhook/leaderhook/api"
	"github.com/leaderhook/leaderhook/event"
	"github.com/leaderhook/leaderhook/ha"
)

const changedRule = `  - {name: changed, when: 'type == "state.has_leader"', actions: [hook]}` + "\n"

// In a group, as alone, ingest refuses a cluster's events with a 503
// while one of its action queues is full on the node that dispatches,
// rather than queue without end; so does the leader when a follower
// forwards events it took over HTTP, whether it leads or runs alone
// (fail-open). A node's own sources' events are taken all the same, as a
// daemon alone takes them.
func TestGroupIngestRefusesWhileQueueFull(t *testing.T) {
	for _, tc := range []struct {
		name string
		ha   func(t *testing.T, dir string) string
	}{
		{"leader", oneNodeGroup},
		{"fail-open", failOpenNode},
	} {
		t.Run(tc.name, func(t *testing.T) { testIngestRefusesWhileQueueFull(t, tc.ha) })
	}
}

func testIngestRefusesWhileQueueFull(t *testing.T, haBlock func(t *testing.T, dir string) string) {
	hung := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { <-hung }))
	t.Cleanup(srv.Close)
	h := newHarness(t, retireConfig, map[string]any{"Hook": srv.URL, "DB": false, "Rules": changedRule})
	h.write(map[string]any{"HA": haBlock(t, h.dir)})
	h.start(Options{})
	t.Cleanup(func() { close(hung) }) // before the harness stops: its drain ends
	g := h.d.group
	waitFor(t, "this node to dispatch", func() bool { return g.status().Dispatching })
	shrinkQueues(g, 2)

	refused := ""
	for i := 0; i < 20 && refused == ""; i++ {
		code, body := h.post("/v1/events?cluster=ziti", "", ev("c1", event.HasLeader, fmt.Sprint("c", i%2+1)))
		switch {
		case code == http.StatusServiceUnavailable:
			refused = body
		case code != http.StatusAccepted:
			t.Fatalf("change %d: %d %s", i, code, body)
		}
	}
	if !strings.Contains(refused, "backed up") {
		t.Fatalf("20 leader changes for a hung receiver with queues of 2, and ingest never refused: %q", refused)
	}

	forward := func(keys []string) error {
		c := ha.Command{Kind: ha.Events, Cluster: "ziti", Keys: keys,
			Events: []event.Event{{Source: "c1", Time: time.Now(), Type: event.HasLeader, LeaderID: "c3"}}}
		body, err := json.Marshal(c)
		if err != nil {
			t.Fatal(err)
		}
		return g.takeForwarded(context.Background(), body)
	}
	if err := forward([]string{"a key"}); !errors.Is(err, api.ErrBusy) || !strings.Contains(err.Error(), "backed up") {
		t.Errorf("events taken over HTTP by a follower, forwarded while the queue is full: %v, want ErrBusy", err)
	}
	if err := forward(nil); err != nil {
		t.Errorf("a follower's sources' events, forwarded while the queue is full: %v, want them taken", err)
	}
}

// shrinkQueues makes the group's action queues hold size deliveries
// waiting, as a reload would change an action.
func shrinkQueues(g *group, size int) {
	g.mu.Lock()
	targets := maps.Clone(g.targets)
	g.mu.Unlock()
	for name, target := range targets {
		target.QueueSize = size
		targets[name] = target
	}
	g.setTargets(targets)
}
