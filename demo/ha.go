package demo

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/leaderhook/leaderhook/config"
	"github.com/leaderhook/leaderhook/daemon"
	"github.com/leaderhook/leaderhook/event"
	"github.com/leaderhook/leaderhook/internal/freeport"
	"github.com/leaderhook/leaderhook/timeline"
)

// haConfigTemplate is one leaderhook node of the demo's group, without
// its actions and rules (actionsAndRules): the raft cluster's members
// report to the group over HTTP.
const haConfigTemplate = `
server:
  listen: 127.0.0.1:0
  ingest_token: %[1]s
state_dir: %[2]q
clusters:
  - name: demo
    stabilize: 1s
    members: [node1, node2, node3]
    source: {type: events, http: true}
ha:
  node_id: %[3]s
  bind: %[4]q
  data_dir: %[5]q
  fail_open_after: %[6]s
  peers:
%[7]s`

const (
	haToken         = "demo-token-do-not-use"
	haFailOpenAfter = 10 * time.Second
	haOutage        = 6 * time.Second // how long the raft cluster stays without quorum
)

// HAResult is what `leaderhook demo --ha` saw, for tests.
type HAResult struct {
	// Result holds the group's states and rule outcomes, each once
	// (every node applies them), and each distinct webhook received.
	Result
	Deliveries []Delivery  // every webhook request received, repeats included
	Leads      []GroupLead // each time a leaderhook node took the group's lead
	Killed     string      // the leaderhook node killed during the outage
	LostAt     time.Time   // the raft cluster lost its quorum
	KilledAt   time.Time   // Killed was cut off from the group
	BackAt     time.Time   // the raft cluster's stopped nodes restarted
}

// Delivery is one webhook request the receiver got.
type Delivery struct {
	At               time.Time
	Node             string // the leaderhook node that sent it
	Rule, Status, ID string
	Repeat           bool // an id received before
}

// GroupLead is a leaderhook node taking the group's lead.
type GroupLead struct {
	Node string
	At   time.Time
}

// IDs returns the distinct delivery ids received for rule and status, in
// order.
func (r *HAResult) IDs(rule, status string) []string {
	var ids []string
	for _, d := range r.Deliveries {
		if d.Rule == rule && d.Status == status && !slices.Contains(ids, d.ID) {
			ids = append(ids, d.ID)
		}
	}
	return ids
}

// RunHA is Run watched by a group of three leaderhook nodes (ha:) in this
// process: the raft nodes' reports go to the group over HTTP, and the
// group's leader is killed while the raft cluster has no quorum, before
// the page is due. The others elect a new leader, which pages, once.
func RunHA(ctx context.Context, w io.Writer, log *slog.Logger) (*HAResult, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	// Interrupted, the demo says so, whatever step failed.
	fail := func(err error) (*HAResult, error) {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, err
	}
	dir, err := os.MkdirTemp("", "leaderhook-demo-ha-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	h := newHARun(ctx, w, log, dir)
	receiver, url, err := startReceiver(h.delivered)
	if err != nil {
		return nil, err
	}
	defer receiver.Close()
	defer h.links.close()
	defer h.stopAll()

	if err := h.formGroup(url); err != nil {
		return fail(err)
	}

	h.say("starting a 3-node hashicorp/raft cluster on 127.0.0.1 (heartbeat and election timeouts %s); its nodes' reports are POSTed to /v1/events?cluster=demo of a live leaderhook node", HeartbeatTimeout)
	if h.cluster, err = Start(3); err != nil {
		return fail(err)
	}
	defer h.cluster.Close()
	forwarded := make(chan struct{})
	go func() { defer close(forwarded); h.forward() }()
	defer func() { cancel(); h.sources.Wait(); <-forwarded }()
	for _, n := range h.cluster.Nodes() {
		h.watch(n.ID)
	}
	err = h.scenario()
	h.ending.Store(true)
	if err != nil {
		return fail(err)
	}
	cancel()
	h.sources.Wait()
	<-forwarded
	h.stopAll()
	return h.summary(), nil
}

// newHARun prepares a `demo --ha` writing its timeline to w, its nodes'
// files under dir.
func newHARun(ctx context.Context, w io.Writer, log *slog.Logger, dir string) *haRun {
	res := &HAResult{}
	h := &haRun{run: &run{ctx: ctx, w: w, res: &res.Result, events: make(chan event.Event, 256)}, result: res, dir: dir,
		log: log, seen: map[string]bool{}, ids: map[string]bool{}}
	h.out = &liveTimeline{w: timeline.NewText(w), mu: &h.mu, res: h.res}
	return h
}

// formGroup starts the three leaderhook nodes, their webhooks going to
// the receiver at url, and waits for them to elect the group's leader.
func (h *haRun) formGroup(url string) error {
	h.say("starting 3 leaderhook nodes lh1, lh2, lh3 as a group (ha:, raft on 127.0.0.1, fail_open_after %s)", haFailOpenAfter)
	if err := h.startGroup(url); err != nil {
		return err
	}
	lead, asked, err := h.groupLeader(20 * time.Second)
	if err != nil {
		return err
	}
	h.say("the group has formed: GET /v1/ha on %s says %s leads (term %d); only the leader delivers", asked.NodeID, lead.id, asked.Term)
	return nil
}

// haRun is one `demo --ha` in progress.
type haRun struct {
	*run
	result *HAResult // under mu
	dir    string
	log    *slog.Logger
	links  links
	nodes  []*lhNode
	seenMu sync.Mutex
	seen   map[string]bool // the group's records printed
	ending atomic.Bool     // the scenario is over
	ids    map[string]bool // delivery ids received; under mu
}

// lhNode is one leaderhook node of the group, a daemon in this process.
type lhNode struct {
	id     string
	d      *daemon.Daemon
	url    string
	cancel context.CancelFunc
	done   chan error
	dead   atomic.Bool // cut off or stopped
	stop   func()
}

func (h *haRun) print(mark, format string, args ...any) {
	h.mu.Lock()
	defer h.mu.Unlock()
	fmt.Fprintf(h.w, "%s  %s %s\n", time.Now().Format(clockLayout), mark, fmt.Sprintf(format, args...))
}

// startGroup starts the three leaderhook nodes; their webhooks go to the
// receiver at url, under each node's name.
func (h *haRun) startGroup(url string) error {
	binds, err := freeport.Addrs(3)
	if err != nil {
		return err
	}
	ids := []string{"lh1", "lh2", "lh3"}
	for i, id := range ids {
		var peers strings.Builder
		for j, peer := range ids {
			addr := binds[j]
			if i != j {
				if addr, err = h.links.add(id, peer, binds[j]); err != nil {
					return err
				}
			}
			fmt.Fprintf(&peers, "    - {id: %s, address: %q}\n", peer, addr)
		}
		home := filepath.Join(h.dir, id)
		text := fmt.Sprintf(haConfigTemplate, haToken, filepath.Join(home, "state"), id, binds[i], filepath.Join(home, "raft"), haFailOpenAfter, peers.String()) +
			fmt.Sprintf(actionsAndRules, url+"/"+id)
		cfg, _, err := config.Parse(id+".yaml", []byte(text), func(string) (string, bool) { return "", false })
		if err != nil {
			return fmt.Errorf("demo config of %s: %w", id, err)
		}
		d, err := daemon.New(cfg, daemon.Options{Log: slog.New(&groupLog{h: h, node: id, next: h.log.Handler()}), DrainTimeout: time.Second, Version: "demo"})
		if err != nil {
			return fmt.Errorf("%s: %w", id, err)
		}
		runCtx, cancel := context.WithCancel(context.Background())
		n := &lhNode{id: id, d: d, url: "http://" + d.Addr(), cancel: cancel, done: make(chan error, 1)}
		n.stop = sync.OnceFunc(func() {
			n.dead.Store(true)
			n.cancel()
			if err := <-n.done; err != nil {
				h.print("⚠", "%s: %v", n.id, err)
			}
			n.d.Close()
		})
		h.nodes = append(h.nodes, n)
		go func() { n.done <- d.Run(runCtx) }()
	}
	return nil
}

// stopAll stops the nodes still running, together.
func (h *haRun) stopAll() {
	var wg sync.WaitGroup
	for _, n := range h.nodes {
		wg.Go(n.stop)
	}
	wg.Wait()
}

func (h *haRun) live() []*lhNode {
	var out []*lhNode
	for _, n := range h.nodes {
		if !n.dead.Load() {
			out = append(out, n)
		}
	}
	return out
}

// haStatus is what GET /v1/ha answers, in part.
type haStatus struct {
	NodeID    string `json:"node_id"`
	Role      string `json:"role"`
	LeaderID  string `json:"leader_id"`
	Term      uint64 `json:"term"`
	LeaderAPI string `json:"leader_api"`
}

var haClient = &http.Client{Timeout: 7 * time.Second}

func (h *haRun) status(n *lhNode) (haStatus, error) {
	var s haStatus
	ctx, cancel := context.WithTimeout(h.ctx, time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, n.url+"/v1/ha", nil)
	if err != nil {
		return s, err
	}
	resp, err := haClient.Do(req)
	if err != nil {
		return s, err
	}
	defer resp.Body.Close()
	return s, json.NewDecoder(resp.Body).Decode(&s)
}

// groupLeader waits until the live nodes agree on a leader that has told
// them where its API is, and returns it with what another node said.
func (h *haRun) groupLeader(timeout time.Duration) (*lhNode, haStatus, error) {
	var leader *lhNode
	var asked haStatus
	ok := h.poll(timeout, func() bool {
		leader = nil
		var statuses []haStatus
		for _, n := range h.live() {
			s, err := h.status(n)
			if err != nil {
				return false
			}
			statuses = append(statuses, s)
			if s.Role == "leader" {
				leader = n
			}
		}
		if leader == nil {
			return false
		}
		for _, s := range statuses {
			if s.LeaderID != leader.id || s.LeaderAPI != leader.url {
				return false
			}
		}
		asked = statuses[0]
		if asked.NodeID == leader.id && len(statuses) > 1 {
			asked = statuses[1]
		}
		return true
	})
	if !ok {
		return nil, asked, fmt.Errorf("the leaderhook group has no leader after %s", timeout)
	}
	return leader, asked, nil
}

// poll reports whether cond came true within timeout.
func (h *haRun) poll(timeout time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(timeout)
	for {
		if cond() {
			return true
		}
		if time.Now().After(deadline) || h.ctx.Err() != nil {
			return false
		}
		select {
		case <-time.After(50 * time.Millisecond):
		case <-h.ctx.Done():
		}
	}
}

// forward POSTs the raft nodes' reports to a live leaderhook node, the
// one that took the last ones if it still does, and keeps them, in order,
// while none does.
func (h *haRun) forward() {
	prefer := ""
	waiting := false
	for {
		var ev event.Event
		select {
		case <-h.ctx.Done():
			return
		case ev = <-h.events:
		}
		batch := []event.Event{ev}
	more:
		for len(batch) < 256 {
			select {
			case ev := <-h.events:
				batch = append(batch, ev)
			default:
				break more
			}
		}
		body, err := json.Marshal(batch)
		if err != nil {
			h.print("⚠", "forwarder: %v", err)
			continue
		}
		for {
			var refused []string
			sent := ""
			nodes := h.live()
			slices.SortStableFunc(nodes, func(a, b *lhNode) int { return boolRank(b.id == prefer) - boolRank(a.id == prefer) })
			for _, n := range nodes {
				if err := h.post(n, body); err != nil {
					refused = append(refused, n.id+": "+err.Error())
					continue
				}
				sent = n.id
				break
			}
			if sent != "" {
				if waiting {
					h.print("⏩", "%s takes the raft nodes' reports again; the forwarder sends what it kept", sent)
				}
				prefer, waiting = sent, false
				break
			}
			if !waiting && h.ctx.Err() == nil {
				h.print("⏸", "no leaderhook node takes the raft nodes' reports (%s): the forwarder keeps them and retries", strings.Join(refused, ", "))
				waiting = true
			}
			select {
			case <-h.ctx.Done():
				return
			case <-time.After(100 * time.Millisecond):
			}
		}
	}
}

func boolRank(b bool) int {
	if b {
		return 1
	}
	return 0
}

// post sends a batch of events to node n; nil once the group has them.
func (h *haRun) post(n *lhNode, body []byte) error {
	req, err := http.NewRequestWithContext(h.ctx, http.MethodPost, n.url+"/v1/events?cluster=demo", bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+haToken)
	resp, err := haClient.Do(req)
	if errors.Is(err, syscall.ECONNREFUSED) {
		return errors.New("connection refused")
	}
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, resp.Body)
	if resp.StatusCode != http.StatusAccepted {
		return errors.New(resp.Status)
	}
	return nil
}

// delivered is told of each webhook the receiver gets, at /NODE/hook.
func (h *haRun) delivered(path, status, rule, id string) {
	node, _, _ := strings.Cut(strings.TrimPrefix(path, "/"), "/")
	h.mu.Lock()
	defer h.mu.Unlock()
	repeat := h.ids[id]
	h.ids[id] = true
	h.result.Deliveries = append(h.result.Deliveries, Delivery{At: time.Now(), Node: node, Rule: rule, Status: status, ID: id, Repeat: repeat})
	again := ""
	if repeat {
		again = ": the same id again, a receiver drops the repeat"
	} else {
		h.res.Delivered = append(h.res.Delivered, status+" "+rule)
	}
	fmt.Fprintf(h.w, "%s  📨 receiver got a signed webhook from %s: %s %s (%s)%s\n", time.Now().Format(clockLayout), node, rule, status, id, again)
}

// scenario breaks the raft cluster, and the leaderhook group during its
// outage.
func (h *haRun) scenario() error {
	leader, err := h.changeRaftLeader()
	if err != nil {
		return err
	}
	victims := h.quorumVictims(leader)
	lostAt, err := h.loseQuorum(victims)
	if err != nil {
		return err
	}
	if err := h.pageWithoutGroupLeader(lostAt); err != nil {
		return err
	}
	return h.restoreQuorum(victims)
}

// changeRaftLeader kills the raft leader and restarts it once the others
// have elected a new one, whose id it returns: a leader change, no outage.
func (h *haRun) changeRaftLeader() (string, error) {
	leader, err := h.cluster.WaitLeader("", 10*time.Second)
	if err != nil {
		return "", err
	}
	h.say("%s is the raft cluster's leader", leader)
	if err := h.pause(2 * time.Second); err != nil {
		return "", err
	}
	h.say("killing the raft leader %s: the others must elect a new one (a leader change, no outage)", leader)
	if err := h.cluster.Stop(leader); err != nil {
		return "", err
	}
	next, err := h.cluster.WaitLeader(leader, 10*time.Second)
	if err != nil {
		return "", err
	}
	if err := h.pause(2 * time.Second); err != nil {
		return "", err
	}
	h.say("restarting %s", leader)
	if err := h.restart(leader); err != nil {
		return "", err
	}
	return next, h.pause(2 * time.Second)
}

// quorumVictims are the two raft nodes whose loss takes the quorum: the
// leader and another.
func (h *haRun) quorumVictims(leader string) []string {
	victims := []string{leader}
	for _, n := range h.cluster.Nodes() {
		if n.ID != leader && len(victims) < 2 {
			victims = append(victims, n.ID)
		}
	}
	return victims
}

// loseQuorum stops the victims and returns when the group has seen the
// raft cluster lose its leader, with the time the quorum was lost.
func (h *haRun) loseQuorum(victims []string) (time.Time, error) {
	losses := h.losses()
	h.say("killing %s and %s: quorum is lost; leaderless-3s is due 3 s after the loss", victims[0], victims[1])
	lostAt := time.Now()
	for _, v := range victims {
		if err := h.cluster.Stop(v); err != nil {
			return lostAt, err
		}
	}
	h.mu.Lock()
	h.result.LostAt = lostAt
	h.mu.Unlock()
	if !h.poll(3*time.Second, func() bool { return h.losses() > losses }) {
		return lostAt, errors.New("the leaderhook group did not see the raft cluster lose its leader")
	}
	return lostAt, nil
}

// pageWithoutGroupLeader kills the group's leader before the page is due,
// waits for the page from the node that leads next, and lets the outage
// last its course.
func (h *haRun) pageWithoutGroupLeader(lostAt time.Time) error {
	if err := h.killLeader(lostAt); err != nil {
		return err
	}
	lead, asked, err := h.groupLeader(20 * time.Second)
	if err != nil {
		return err
	}
	h.say("GET /v1/ha on %s: %s leads the group now (term %d); it must deliver the page when due", asked.NodeID, lead.id, asked.Term)
	if !h.poll(15*time.Second, func() bool { return h.received("leaderless-3s", "firing") }) {
		return errors.New("the page did not arrive")
	}
	return h.pause(time.Until(lostAt.Add(haOutage)))
}

// restoreQuorum restarts the victims and waits for the alert to resolve.
func (h *haRun) restoreQuorum(victims []string) error {
	h.say("restarting %s and %s: quorum is back; the alert must resolve, once", victims[0], victims[1])
	for _, v := range victims {
		if err := h.restart(v); err != nil {
			return err
		}
	}
	h.mu.Lock()
	h.result.BackAt = time.Now()
	h.mu.Unlock()
	if _, err := h.cluster.WaitLeader("", 10*time.Second); err != nil {
		return err
	}
	if !h.poll(15*time.Second, func() bool { return h.received("leaderless-3s", "resolved") }) {
		return errors.New("the resolve did not arrive")
	}
	return h.pause(2 * time.Second)
}

// losses counts the leader losses the group decided.
func (h *haRun) losses() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	n := 0
	for _, ev := range h.res.States {
		if ev.Type == event.Leaderless && !ev.Baseline {
			n++
		}
	}
	return n
}

func (h *haRun) received(rule, status string) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.result.IDs(rule, status)) > 0
}

// killLeader kills the group's leader as a crash would: it is cut off from
// the other nodes first, so that it cannot hand its lead over, then
// stopped.
func (h *haRun) killLeader(lostAt time.Time) error {
	lead, _, err := h.groupLeader(5 * time.Second)
	if err != nil {
		return err
	}
	var others []string
	for _, n := range h.live() {
		if n != lead {
			others = append(others, n.id)
		}
	}
	h.say("killing the leaderhook leader %s %s after the loss, before leaderless-3s is due: cut off from %s, then stopped",
		lead.id, time.Since(lostAt).Round(time.Millisecond), strings.Join(others, " and "))
	killedAt := time.Now()
	lead.dead.Store(true)
	h.links.isolate(lead.id)
	h.mu.Lock()
	h.result.Killed, h.result.KilledAt = lead.id, killedAt
	h.mu.Unlock()
	// Cut off, it steps down within its leader lease: stopped then, it has
	// no lead left to hand over.
	h.poll(3*time.Second, func() bool { s, err := h.status(lead); return err != nil || s.Role != "leader" })
	s, err := h.status(lead)
	stillLeading := err == nil && s.Role == "leader"
	lead.stop()
	if stillLeading {
		h.say("%s still led when it stopped: its Close tried a graceful hand-over, which its cut links refused", lead.id)
	} else {
		h.say("%s is gone without handing over its lead: %s must notice its silence and elect a new leader", lead.id, strings.Join(others, " and "))
	}
	return nil
}

func (h *haRun) summary() *HAResult {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.out.w.Flush()
	res := h.result
	var leads []string
	for _, l := range res.Leads {
		leads = append(leads, l.Node)
	}
	fmt.Fprintf(h.w, "\ndone: %d leader states, %d rule outcomes decided by the group; %d webhooks received, %d distinct; the group was led by %s.\n",
		len(res.States), len(res.Outcomes), len(res.Deliveries), len(h.ids), strings.Join(leads, ", then "))
	ids := res.IDs("leaderless-3s", "firing")
	var by []string
	after := true
	for _, d := range res.Deliveries {
		if d.Rule == "leaderless-3s" && d.Status == "firing" {
			if !slices.Contains(by, d.Node) {
				by = append(by, d.Node)
			}
			after = after && d.At.After(res.KilledAt)
		}
	}
	when := "after"
	if !after {
		when = "partly before"
	}
	times := "once"
	if len(ids) != 1 {
		times = fmt.Sprintf("%d times, under different ids", len(ids))
	}
	fmt.Fprintf(h.w, "page delivered %s by %s %s %s was killed.\n", times, strings.Join(by, " and "), when, res.Killed)
	fmt.Fprintf(h.w, "Next: run a group of your own: docs/ha.md\n")
	return res
}
