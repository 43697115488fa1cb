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
actions:
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
	res := &Result{}
	var mu sync.Mutex
	say := func(format string, args ...any) {
		mu.Lock()
		defer mu.Unlock()
		fmt.Fprintf(w, "%s  ▶ %s\n", time.Now().Format(clockLayout), fmt.Sprintf(format, args...))
	}

	receiver, url, err := startReceiver(func(status, rule, id string) {
		mu.Lock()
		res.Delivered = append(res.Delivered, status+" "+rule)
		fmt.Fprintf(w, "%s  📨 receiver got a signed webhook: %s %s (%s)\n", time.Now().Format(clockLayout), rule, status, id)
		mu.Unlock()
	})
	if err != nil {
		return nil, err
	}
	defer receiver.Close()

	cfg, _, err := config.Parse("demo.yaml", []byte(fmt.Sprintf(configTemplate, url)), func(string) (string, bool) { return "", false })
	if err != nil {
		return nil, fmt.Errorf("demo config: %w", err)
	}
	targets, err := pipeline.Targets(cfg, nil)
	if err != nil {
		return nil, err
	}
	disp := dispatch.New(dispatch.Options{Targets: targets, Log: log})
	out := &liveTimeline{w: timeline.NewText(w), mu: &mu, res: res}
	driver, err := pipeline.New(cfg, "demo", &pipeline.Dispatching{Next: out, To: disp}, log)
	if err != nil {
		return nil, err
	}

	say("starting a 3-node hashicorp/raft cluster on 127.0.0.1 (heartbeat and election timeouts %s)", HeartbeatTimeout)
	cluster, err := Start(3)
	if err != nil {
		return nil, err
	}
	defer cluster.Close()

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	events := make(chan event.Event, 256)
	var wg sync.WaitGroup
	watch := func(id string) {
		src := &detector.RaftSource{Raft: cluster.Node(id).Raft(), ID: id, Cluster: "demo", Reconcile: 200 * time.Millisecond}
		wg.Add(1)
		go func() {
			defer wg.Done()
			src.Run(ctx, events)
		}()
	}
	for _, n := range cluster.Nodes() {
		watch(n.ID)
	}
	runDone := make(chan error, 1)
	go func() { runDone <- driver.Run(ctx, events, clock.Real{}) }()

	step := func(err error) error {
		if err != nil {
			return err
		}
		return ctx.Err()
	}
	pause := func(d time.Duration) error {
		select {
		case <-time.After(d):
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	leader, err := cluster.WaitLeader("", 10*time.Second)
	if err := step(err); err != nil {
		return nil, err
	}
	say("%s is the leader", leader)
	if err := pause(2 * time.Second); err != nil {
		return nil, err
	}

	say("killing the leader %s: the others must elect a new one (a leader change, no outage)", leader)
	if err := step(cluster.Stop(leader)); err != nil {
		return nil, err
	}
	next, err := cluster.WaitLeader(leader, 10*time.Second)
	if err := step(err); err != nil {
		return nil, err
	}
	if err := pause(2 * time.Second); err != nil {
		return nil, err
	}
	say("restarting %s", leader)
	if err := step(cluster.Restart(leader)); err != nil {
		return nil, err
	}
	watch(leader)
	if err := pause(2 * time.Second); err != nil {
		return nil, err
	}

	var victims []string
	for _, n := range cluster.Nodes() {
		if n.ID != next && len(victims) < 1 {
			victims = append(victims, n.ID)
		}
	}
	victims = append([]string{next}, victims...)
	say("killing %s and %s: quorum is lost; leaderless-3s must fire 3 s after the loss", victims[0], victims[1])
	for _, v := range victims {
		if err := step(cluster.Stop(v)); err != nil {
			return nil, err
		}
	}
	if err := pause(6 * time.Second); err != nil {
		return nil, err
	}
	say("restarting %s and %s: quorum is back; the alert must resolve", victims[0], victims[1])
	for _, v := range victims {
		if err := step(cluster.Restart(v)); err != nil {
			return nil, err
		}
		watch(v)
	}
	if _, err := cluster.WaitLeader("", 10*time.Second); err != nil {
		return nil, err
	}
	if err := pause(2 * time.Second); err != nil {
		return nil, err
	}

	cancel()
	<-runDone
	wg.Wait()
	drain, stop := context.WithTimeout(context.Background(), 5*time.Second)
	defer stop()
	disp.Close(drain)
	out.w.Flush()
	mu.Lock()
	defer mu.Unlock()
	fmt.Fprintf(w, "\ndone: %d leader states, %d rule outcomes, %d webhooks delivered.\n", len(res.States), len(res.Outcomes), len(res.Delivered))
	fmt.Fprintf(w, "Next: leaderhook replay -c examples/rules.yaml testdata/openziti-1/events-ctrl*.jsonl\n")
	return res, nil
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

// startReceiver serves webhooks on 127.0.0.1 and reports each one.
func startReceiver(got func(status, rule, id string)) (io.Closer, string, error) {
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
		got(p.Status, p.Rule, r.Header.Get("webhook-id"))
	})}
	go srv.Serve(l) // returns when closed
	return srv, "http://" + l.Addr().String(), nil
}
