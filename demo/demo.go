package demo

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/leaderhook/leaderhook/clock"
	"github.com/leaderhook/leaderhook/config"
	"github.com/leaderhook/leaderhook/detector"
	"github.com/leaderhook/leaderhook/dispatch"
	"github.com/leaderhook/leaderhook/event"
	"github.com/leaderhook/leaderhook/pipeline"
	"github.com/leaderhook/leaderhook/rules"
	"github.com/leaderhook/leaderhook/timeline"
)

// configTemplate is the demo's config: a three-node raft cluster and rules
// whose webhook goes to a receiver inside the demo (%s is its URL).
const configTemplate = `
clusters:
  - name: demo
    stabilize: 1s
    members: [node1, node2, node3]
    source: {type: raft}
` + actionsAndRules

// actionsAndRules are the demo's actions and rules, alone or in a group
// (--ha): %s is where the receiver is.
const actionsAndRules = `actions:
  receiver:
    type: webhook
    url: %s/hook
    secret: whsec_ZGVtby1zZWNyZXQtZG8tbm90LXVzZQ==
    retry: {max_attempts: 3, initial_backoff: 200ms, max_backoff: 1s}
rules:
  - name: leader-changed
    when: type == "state.has_leader" && previous_leader_id != "" && leader_id != previous_leader_id
    actions: [receiver]
  - name: leaderless-3s
    when: type == "state.is_leaderless" && leaderless_for >= duration("3s")
    actions: [receiver]
    on_resolve: [receiver]
`

// clockLayout matches the timeline's.
const clockLayout = "2006-01-02 15:04:05.000"

// Result is what the demo saw, for tests.
type Result struct {
	States    []event.Event
	Outcomes  []rules.Outcome
	Delivered []string // "status rule" as the receiver got them
}

// Run starts a three-node raft cluster, watches it with leaderhook and
// breaks it: the leader is killed (failover), then two of three nodes
// (quorum lost for longer than the 3 s rule), then they come back. It
// prints a live timeline to w and returns what happened.
func Run(ctx context.Context, w io.Writer, log *slog.Logger) (*Result, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	r := &run{ctx: ctx, w: w, res: &Result{}, events: make(chan event.Event, 256)}
	receiver, url, err := startReceiver(func(_, status, rule, id string) { r.delivered(status, rule, id) })
	if err != nil {
		return nil, err
	}
	defer receiver.Close()
	disp, driver, err := r.pipeline(url, log)
	if err != nil {
		return nil, err
	}
	r.say("starting a 3-node hashicorp/raft cluster on 127.0.0.1 (heartbeat and election timeouts %s)", HeartbeatTimeout)
	if r.cluster, err = Start(3); err != nil {
		return nil, err
	}
	defer r.cluster.Close()
	for _, n := range r.cluster.Nodes() {
		r.watch(n.ID)
	}
	runDone := make(chan error, 1)
	go func() { runDone <- driver.Run(ctx, r.events, clock.Real{}) }()
	if err := r.scenario(); err != nil {
		return nil, err
	}
	cancel()
	<-runDone
	r.sources.Wait()
	drain, stop := context.WithTimeout(context.Background(), 5*time.Second)
	defer stop()
	disp.Close(drain)
	return r.summary(), nil
}

// run is one demo in progress.
type run struct {
	ctx     context.Context
	w       io.Writer
	mu      sync.Mutex // over w and res
	res     *Result
	cluster *Cluster
	events  chan event.Event
	sources sync.WaitGroup
	out     *liveTimeline
}

func (r *run) say(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	fmt.Fprintf(r.w, "%s  ▶ %s\n", time.Now().Format(clockLayout), fmt.Sprintf(format, args...))
}

// delivered is told of each webhook the demo's receiver gets.
func (r *run) delivered(status, rule, id string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.res.Delivered = append(r.res.Delivered, status+" "+rule)
	fmt.Fprintf(r.w, "%s  📨 receiver got a signed webhook: %s %s (%s)\n", time.Now().Format(clockLayout), rule, status, id)
}

// pipeline builds the demo's dispatcher and driver, its webhook going to
// the receiver at url.
func (r *run) pipeline(url string, log *slog.Logger) (*dispatch.Dispatcher, *pipeline.Driver, error) {
	cfg, _, err := config.Parse("demo.yaml", []byte(fmt.Sprintf(configTemplate, url)), func(string) (string, bool) { return "", false })
	if err != nil {
		return nil, nil, fmt.Errorf("demo config: %w", err)
	}
	targets, err := pipeline.Targets(cfg, cfg.StateDir, nil, log)
	if err != nil {
		return nil, nil, err
	}
	disp := dispatch.New(dispatch.Options{Targets: targets, Log: log})
	r.out = &liveTimeline{w: timeline.NewText(r.w), mu: &r.mu, res: r.res}
	driver, err := pipeline.New(cfg, "demo", &pipeline.Dispatching{Next: r.out, To: disp}, log)
	if err != nil {
		return nil, nil, err
	}
	return disp, driver, nil
}

// watch observes one raft node, until the demo ends or the node stops.
func (r *run) watch(id string) {
	src := &detector.RaftSource{Raft: r.cluster.Node(id).Raft(), ID: id, Cluster: "demo", Reconcile: 200 * time.Millisecond}
	r.sources.Add(1)
	go func() {
		defer r.sources.Done()
		src.Run(r.ctx, r.events)
	}()
}

// scenario breaks the cluster step by step.
func (r *run) scenario() error {
	leader, err := r.cluster.WaitLeader("", 10*time.Second)
	if err != nil {
		return err
	}
	r.say("%s is the leader", leader)
	if err := r.pause(2 * time.Second); err != nil {
		return err
	}
	r.say("killing the leader %s: the others must elect a new one (a leader change, no outage)", leader)
	if err := r.cluster.Stop(leader); err != nil {
		return err
	}
	next, err := r.cluster.WaitLeader(leader, 10*time.Second)
	if err != nil {
		return err
	}
	if err := r.pause(2 * time.Second); err != nil {
		return err
	}
	r.say("restarting %s", leader)
	if err := r.restart(leader); err != nil {
		return err
	}
	if err := r.pause(2 * time.Second); err != nil {
		return err
	}
	victims := []string{next}
	for _, n := range r.cluster.Nodes() {
		if n.ID != next && len(victims) < 2 {
			victims = append(victims, n.ID)
		}
	}
	r.say("killing %s and %s: quorum is lost; leaderless-3s must fire 3 s after the loss", victims[0], victims[1])
	for _, v := range victims {
		if err := r.cluster.Stop(v); err != nil {
			return err
		}
	}
	if err := r.pause(6 * time.Second); err != nil {
		return err
	}
	r.say("restarting %s and %s: quorum is back; the alert must resolve", victims[0], victims[1])
	for _, v := range victims {
		if err := r.restart(v); err != nil {
			return err
		}
	}
	if _, err := r.cluster.WaitLeader("", 10*time.Second); err != nil {
		return err
	}
	return r.pause(2 * time.Second)
}

func (r *run) restart(id string) error {
	if err := r.cluster.Restart(id); err != nil {
		return err
	}
	r.watch(id)
	return nil
}

// pause lets the demo's viewer see what happens. It returns the demo's
// end (Ctrl-C) instead: a stopped demo takes, and announces, no further
// step.
func (r *run) pause(d time.Duration) error {
	select {
	case <-time.After(d):
		return nil
	case <-r.ctx.Done():
		return r.ctx.Err()
	}
}

func (r *run) summary() *Result {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.out.w.Flush()
	fmt.Fprintf(r.w, "\ndone: %d leader states, %d rule outcomes, %d webhooks delivered.\n", len(r.res.States), len(r.res.Outcomes), len(r.res.Delivered))
	fmt.Fprintf(r.w, "Next: leaderhook replay -c examples/rules.yaml testdata/openziti-1/events-ctrl*.jsonl\n")
	return r.res
}

// liveTimeline prints each record as it happens and keeps it.
type liveTimeline struct {
	w   *timeline.Writer
	mu  *sync.Mutex
	res *Result
}

func (l *liveTimeline) State(ev event.Event) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.res.States = append(l.res.States, ev)
	l.w.State(ev)
	l.w.Flush()
}

func (l *liveTimeline) Outcome(o rules.Outcome) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.res.Outcomes = append(l.res.Outcomes, o)
	l.w.Outcome(o)
	l.w.Flush()
}

// startReceiver serves webhooks on 127.0.0.1 and reports each one, with
// the path it was sent to.
func startReceiver(got func(path, status, rule, id string)) (io.Closer, string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, "", err
	}
	srv := &http.Server{ReadHeaderTimeout: 5 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var p struct {
			Rule   string `json:"rule"`
			Status string `json:"status"`
		}
		if err := json.NewDecoder(io.LimitReader(r.Body, 1<<20)).Decode(&p); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		got(r.URL.Path, p.Status, p.Rule, r.Header.Get("webhook-id"))
	})}
	go srv.Serve(l) // returns when closed
	return srv, "http://" + l.Addr().String(), nil
}
