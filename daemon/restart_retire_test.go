package daemon

import (
	"net/http/httptest"
	"testing"

	"github.com/leaderhook/leaderhook/event"
)

const retireConfig = `server: {listen: "127.0.0.1:0"}
state_dir: {{.Dir}}/state
clusters:
  - {name: ziti, stabilize: 0s, source: {type: events, http: true}}
{{if .DB}}  - {name: db, stabilize: 0s, source: {type: events, http: true}}
{{end}}actions:
  hook: {type: webhook, url: "{{.Hook}}"}
rules:
{{.Rules}}  - {name: other, when: 'leader_id == "c9"', actions: [hook]}
{{.HA}}`

const lostRule = "  - {name: lost, when: leaderless, actions: [hook], on_resolve: [hook]}\n"

// received counts the notifications of a rule of a status, by their
// webhook-id: a delivery cut short by a stop is sent again with its id.
func (r *receiver) received(rule, status string) int {
	ids := map[string]bool{}
	for _, d := range r.deliveries() {
		if d.rule == rule && d.status == status {
			ids[d.id] = true
		}
	}
	return len(ids)
}

// A restart whose config no longer has a firing rule, or its cluster (in
// the config or in the rule's clusters), resolves that firing as a reload
// does: the removed rule's on_resolve runs, once, and its receiver's
// incident is not left open for good. A rule whose decision changed still
// resolves when its condition ends. In a group, too.
func TestRestartResolvesARemovedRulesFiring(t *testing.T) {
	narrowed := "  - {name: lost, when: leaderless, clusters: [ziti], actions: [hook], on_resolve: [hook]}\n"
	for _, tc := range []struct {
		name          string
		on            string // the cluster that loses its leader
		before, after map[string]any
		recover       bool // the cluster recovers after the restart
		ha            bool
	}{
		{name: "rule removed", on: "ziti", before: map[string]any{"Rules": lostRule}, after: map[string]any{"Rules": ""}},
		{name: "cluster removed", on: "db", before: map[string]any{"Rules": lostRule, "DB": true}, after: map[string]any{"DB": false}},
		{name: "cluster taken out of the rule's", on: "db", before: map[string]any{"Rules": lostRule, "DB": true}, after: map[string]any{"Rules": narrowed}},
		{name: "decision changed", on: "ziti", before: map[string]any{"Rules": lostRule},
			after: map[string]any{"Rules": "  - {name: lost, when: leaderless, repeat: 1h, actions: [hook], on_resolve: [hook]}\n"}, recover: true},
		{name: "rule removed, in a group", on: "ziti", before: map[string]any{"Rules": lostRule}, after: map[string]any{"Rules": ""}, ha: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			recv := &receiver{}
			srv := httptest.NewServer(recv)
			t.Cleanup(srv.Close)
			h := newHarness(t, retireConfig, map[string]any{"Hook": srv.URL, "DB": false, "HA": ""})
			if tc.ha {
				h.vars["HA"] = oneNodeGroup(t, h.dir)
			}
			h.write(tc.before)
			h.start(Options{})
			h.post("/v1/events?cluster="+tc.on, "", ev("c1", event.HasLeader, "c1"))
			h.post("/v1/events?cluster="+tc.on, "", ev("c1", event.Leaderless, ""))
			waitFor(t, "the firing", func() bool { return recv.received("lost", "firing") == 1 })
			if err := h.stop(); err != nil {
				t.Fatal(err)
			}

			h.write(tc.after)
			h.start(Options{})
			if tc.recover {
				h.post("/v1/events?cluster="+tc.on, "", ev("c1", event.HasLeader, "c1"))
			}
			waitFor(t, "the resolve", func() bool { return recv.received("lost", "resolved") == 1 })
			if err := h.stop(); err != nil {
				t.Fatal(err)
			}

			// Resolved once: the next start does not send it again. A
			// notification decided after it would be shows it.
			h.start(Options{})
			h.post("/v1/events?cluster=ziti", "", ev("c1", event.HasLeader, "c1"))
			h.post("/v1/events?cluster=ziti", "", ev("c1", event.HasLeader, "c9"))
			waitFor(t, "the next notification", func() bool { return recv.received("other", "firing") == 1 })
			if n := recv.received("lost", "resolved"); n != 1 {
				t.Errorf("%d resolves of lost, want 1: %+v", n, recv.deliveries())
			}
		})
	}
}
