package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// token is every node's ingest token.
const token = "b3nch"

// Clusters of the config: ziti gets the failovers' incidents, load the
// ingest runs' events (members that always agree on a leader).
const (
	clusterIncidents = "ziti"
	clusterLoad      = "load"
)

// peer is one node of a group: its raft id and address.
type peer struct{ id, bind string }

// configText is a node's config: a rule that pages once a cluster has
// been without a leader for ruleDelay, and, with peers, the ha: block of
// node self.
func configText(dir, name, listen, receiver string, self int, peers []peer) string {
	var b strings.Builder
	fmt.Fprintf(&b, `server: {listen: %q, ingest_token: %s}
state_dir: %s
clusters:
  - {name: %s, stabilize: 0s, source: {type: events, http: true}}
  - {name: %s, stabilize: 0s, source: {type: events, http: true}}
actions:
  hook: {type: webhook, url: "%s/hook", retry: {max_attempts: 100, initial_backoff: 100ms, max_backoff: 200ms}}
rules:
  - name: lost
    when: leaderless && leaderless_for >= duration(%q)
    actions: [hook]
`, listen, token, filepath.Join(dir, name, "state"), clusterIncidents, clusterLoad, receiver, ruleDelay.String())
	if len(peers) == 0 {
		return b.String()
	}
	fmt.Fprintf(&b, "ha:\n  node_id: %s\n  bind: %q\n  data_dir: %s\n  peers:\n",
		peers[self].id, peers[self].bind, filepath.Join(dir, name, "raft"))
	for _, p := range peers {
		fmt.Fprintf(&b, "    - {id: %s, address: %q}\n", p.id, p.bind)
	}
	return b.String()
}

// newNode writes the config of a node and returns it, not started.
func newNode(bin, dir, name, receiver string, self int, peers []peer) (*node, error) {
	listen, err := freeAddr()
	if err != nil {
		return nil, err
	}
	path := filepath.Join(dir, name+".yaml")
	if err := os.WriteFile(path, []byte(configText(dir, name, listen, receiver, self, peers)), 0o644); err != nil {
		return nil, fmt.Errorf("writing the config of %s: %w", name, err)
	}
	return &node{name: name, bin: bin, config: path, logPath: filepath.Join(dir, name+".log"), api: "http://" + listen}, nil
}
