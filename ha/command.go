package ha

import (
	"time"

	"github.com/leaderhook/leaderhook/actions"
	"github.com/leaderhook/leaderhook/dispatch"
	"github.com/leaderhook/leaderhook/event"
	"github.com/leaderhook/leaderhook/rules"
)

// Kinds of command.
const (
	// Events: members' reports of a cluster, dated by the node that took
	// them in. With Keys (events taken over HTTP), one key per event that
	// tells it apart as its member sent it, before dating: the group
	// applies an event whose key it applied already (the same batch sent
	// again, or to several nodes) no more. An entry without them (from an
	// older version, or from a node's own sources) is applied whole.
	Events = "events"
	// Advance: time passes to Time (proposed by the leader when the
	// pipeline's next deadline is due).
	Advance = "advance"
	// Pending: a delivery not decided by the pipeline (a fallback), or one
	// whose attempt count changed.
	Pending = "pending"
	// Done: a delivery is finished (made, or failed for good). With End,
	// how it ended, for a rule's verification, at Time.
	Done = "done"
	// Leader: the node that leads now, and where its HTTP API is, so that
	// the others can forward to it. Time is when it took the lead: what
	// the rules missed while no node led (a whole group down for days) is
	// made up once then, not once per repeat or schedule time missed.
	Leader = "leader"
	// Expect: a window of expected changes of Cluster opens (Expect.Until
	// after Time) or ends, at Time (dated by the node that took it in).
	Expect = "expect"
	// Memory: what an action remembers between deliveries changed (the
	// alerts it keeps open, the messages it will edit), so that the next
	// leader knows it.
	Memory = "memory"
)

// Command is one entry of the group's log: an input the decisions depend
// on. Applying the same commands in the same order gives every node the
// same cluster views, rule states and pending deliveries.
type Command struct {
	Kind     string                `json:"kind"`
	Cluster  string                `json:"cluster,omitempty"`
	Events   []event.Event         `json:"events,omitempty"`
	Keys     []string              `json:"keys,omitempty"`
	Time     time.Time             `json:"time,omitzero"`
	Delivery *dispatch.Delivery    `json:"delivery,omitempty"`
	ID       string                `json:"id,omitempty"` // of a delivery done
	Node     string                `json:"node,omitempty"`
	API      string                `json:"api,omitempty"`
	Expect   *rules.Expectation    `json:"expect,omitempty"`
	End      *rules.ActionEnd      `json:"end,omitempty"`
	Memory   *actions.MemoryChange `json:"memory,omitempty"`
}

// Machine is what the group replicates: the daemon's pipeline. Apply must
// be deterministic: no clock, no randomness, no I/O that decides anything.
type Machine interface {
	Apply(c Command)
	// Snapshot and Restore carry the whole state across a compaction of
	// the log, or to a node that joins (or lost its disk).
	Snapshot() ([]byte, error)
	Restore(data []byte) error
}
