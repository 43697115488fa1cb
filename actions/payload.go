package actions

import (
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/leaderhook/leaderhook/event"
)

// Statuses of a notification.
const (
	StatusFiring   = "firing"
	StatusResolved = "resolved"
	// StatusVerifyFailed: a rule's actions succeeded, but its verify.when
	// did not come true within verify.within; to verify.on_failure.
	StatusVerifyFailed = "verify_failed"
)

// PayloadVersion is the "version" of the default payload. It changes only
// when a receiver would have to change.
const PayloadVersion = "1"

// Notification is one firing or resolve of a rule, as every action sees it.
// Templates see its fields: {{ .Rule }}, {{ .Cluster }}, {{ .LeaderID }}...
// Renaming a field breaks users' templates.
type Notification struct {
	DeliveryID string
	Rule       string
	Status     string // StatusFiring, StatusResolved or StatusVerifyFailed
	Cluster    string
	Labels     map[string]string
	FiredAt    time.Time
	// Episode is when the rule's condition began to hold: the firing and
	// its resolve share it.
	Episode          time.Time
	EventType        string
	Event            map[string]any
	LeaderID         string
	PreviousLeaderID string
	Leaderless       bool
	LeaderlessFor    time.Duration
	// What leaderhook knows of the members: how many are up, of how many,
	// how many more may fail before the majority is gone, which do not
	// answer, and whether leaderhook itself is cut off from them.
	MembersUp       int
	MembersTotal    int
	QuorumMargin    int
	Unreachable     []string
	WatcherIsolated bool
	// ChangeKind is how the leader changed (transfer, failover, unknown),
	// on a change of leader. Leaders claim the lead; SplitBrain says more
	// than one does; Term is the cluster's raft term (0 unknown).
	ChangeKind string
	Leaders    []string
	SplitBrain bool
	Term       uint64
	// Seq is the number of the cluster's state the decision was made for:
	// it grows with every change of leader (or loss of one) and never goes
	// back, across restarts too. 0 when not known (a `fire`).
	Seq    uint64
	DryRun bool

	// The context of the message (see Summary). StateSince is when the
	// cluster's current state began (the change itself, which a held-back
	// firing follows); LastOutage how long the cluster was without a
	// leader before its current one; Lasted, on a resolve, how long the
	// firing lasted, from Episode to the resolve; HeldBy what held a
	// firing back until FiredAt ("cooldown" or "muted"); Failure, on an
	// on_failure action's message, the delivery that failed for good.
	StateSince time.Time
	LastOutage time.Duration
	Lasted     time.Duration
	HeldBy     string
	Failure    Failure
}

// Failure is a delivery that failed for good, as its on_failure actions
// are told: the action, its kind, where it delivers (credentials
// hidden), the last error (redacted) and the attempts made. Action is ""
// in other messages.
type Failure struct {
	Action   string `json:"action"`
	Kind     string `json:"kind"`
	Where    string `json:"where,omitempty"`
	Error    string `json:"error"`
	Attempts int    `json:"attempts"`
}

// payload is the default JSON body of a webhook and the stdin of a shell
// action, as README.md (Actions) shows it. Field order is key order.
type payload struct {
	Version    string            `json:"version"`
	DeliveryID string            `json:"delivery_id"`
	Rule       string            `json:"rule"`
	Status     string            `json:"status"`
	Cluster    string            `json:"cluster"`
	Labels     map[string]string `json:"labels"`
	FiredAt    string            `json:"fired_at"`
	Event      map[string]any    `json:"event"`
	State      payloadState      `json:"state"`
	// Added within version 1: receivers that do not know them skip them.
	Summary  string   `json:"summary"`
	LastedMS int64    `json:"lasted_ms"`
	HeldBy   string   `json:"held_by"`
	Failure  *Failure `json:"failure,omitempty"`
}

type payloadState struct {
	LeaderID         string   `json:"leader_id"`
	PreviousLeaderID string   `json:"previous_leader_id"`
	Leaderless       bool     `json:"leaderless"`
	LeaderlessForMS  int64    `json:"leaderless_for_ms"`
	MembersUp        int      `json:"members_up"`
	MembersTotal     int      `json:"members_total"`
	QuorumMargin     int      `json:"quorum_margin"`
	Unreachable      []string `json:"unreachable"`
	WatcherIsolated  bool     `json:"watcher_isolated"`
	ChangeKind       string   `json:"change_kind"`
	Leaders          []string `json:"leaders"`
	SplitBrain       bool     `json:"split_brain"`
	Term             uint64   `json:"term"`
	Seq              uint64   `json:"seq"`
	Since            string   `json:"since"` // "" when not known
	LastOutageMS     int64    `json:"last_outage_ms"`
}

// Payload returns the default JSON payload. Labels and event are {} rather
// than null when empty, so that receivers need no null checks.
func (n *Notification) Payload() ([]byte, error) {
	p := payload{
		Version:    PayloadVersion,
		DeliveryID: n.DeliveryID,
		Rule:       n.Rule,
		Status:     n.Status,
		Cluster:    n.Cluster,
		Labels:     n.Labels,
		FiredAt:    n.FiredAt.Format(event.TimeLayout),
		Event:      n.Event,
		State: payloadState{
			LeaderID:         n.LeaderID,
			PreviousLeaderID: n.PreviousLeaderID,
			Leaderless:       n.Leaderless,
			LeaderlessForMS:  n.LeaderlessFor.Milliseconds(),
			MembersUp:        n.MembersUp,
			MembersTotal:     n.MembersTotal,
			QuorumMargin:     n.QuorumMargin,
			Unreachable:      n.Unreachable,
			WatcherIsolated:  n.WatcherIsolated,
			ChangeKind:       n.ChangeKind,
			Leaders:          n.Leaders,
			SplitBrain:       n.SplitBrain,
			Term:             n.Term,
			Seq:              n.Seq,
			LastOutageMS:     n.LastOutage.Milliseconds(),
		},
		Summary: n.Summary(), LastedMS: n.Lasted.Milliseconds(), HeldBy: n.HeldBy,
	}
	if !n.StateSince.IsZero() {
		p.State.Since = n.StateSince.Format(event.TimeLayout)
	}
	if n.Failure.Action != "" {
		p.Failure = &n.Failure
	}
	if p.State.Unreachable == nil {
		p.State.Unreachable = []string{}
	}
	if p.State.Leaders == nil {
		p.State.Leaders = []string{}
	}
	if p.Labels == nil {
		p.Labels = map[string]string{}
	}
	if p.Event == nil {
		p.Event = map[string]any{}
	}
	data, err := json.Marshal(p)
	if err != nil {
		return nil, fmt.Errorf("payload: %w", err)
	}
	return data, nil
}

// Environ is the environment a shell action gets besides its own `env`,
// as README.md (Actions) lists it. Scripts read these instead of parsing the payload.
func (n *Notification) Environ() []string {
	return []string{
		"LEADERHOOK_RULE=" + n.Rule,
		"LEADERHOOK_STATUS=" + n.Status,
		"LEADERHOOK_CLUSTER=" + n.Cluster,
		"LEADERHOOK_EVENT_TYPE=" + n.EventType,
		"LEADERHOOK_LEADER_ID=" + n.LeaderID,
		"LEADERHOOK_PREVIOUS_LEADER_ID=" + n.PreviousLeaderID,
		// Whole seconds, truncated: `[ "$X" -ge 30 ]` refuses "30.4".
		// The payload's state.leaderless_for_ms has the milliseconds.
		"LEADERHOOK_LEADERLESS_SECONDS=" + strconv.FormatInt(int64(n.LeaderlessFor/time.Second), 10),
		"LEADERHOOK_FIRED_AT=" + n.FiredAt.Format(event.TimeLayout),
		"LEADERHOOK_DELIVERY_ID=" + n.DeliveryID,
		"LEADERHOOK_DRY_RUN=" + strconv.FormatBool(n.DryRun),
		"LEADERHOOK_SEQ=" + strconv.FormatUint(n.Seq, 10),
		"LEADERHOOK_TERM=" + term(n.Term),
	}
}

// term is empty for a term not known, rather than a 0 a script could take
// for a real one.
func term(t uint64) string {
	if t == 0 {
		return ""
	}
	return strconv.FormatUint(t, 10)
}

// String makes a Notification readable in logs.
func (n *Notification) String() string {
	return fmt.Sprintf("%s %s %s (delivery %s)", n.Rule, n.Status, n.Cluster, n.DeliveryID)
}
