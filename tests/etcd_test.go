package tests

import (
	"context"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/leaderhook/leaderhook/clock"
	"github.com/leaderhook/leaderhook/detector"
	"github.com/leaderhook/leaderhook/event"
	"github.com/leaderhook/leaderhook/pipeline"
	"github.com/leaderhook/leaderhook/rules"
)

// etcdCluster is a real 3-node etcd (Debian's etcd-server) on 127.0.0.1.
type etcdCluster struct {
	t       *testing.T
	dir     string
	names   []string
	client  []string
	peer    []string
	initial string
	procs   map[string]*exec.Cmd
}

func startEtcd(t *testing.T) *etcdCluster {
	bin, err := exec.LookPath("etcd")
	if err != nil {
		t.Fatal("etcd is not installed: `make test` installs Debian's etcd-server (apt-get install etcd-server)")
	}
	_ = bin
	c := &etcdCluster{t: t, dir: t.TempDir(), procs: map[string]*exec.Cmd{}}
	var initial []string
	ports := freePorts(t, 6)
	for i := 1; i <= 3; i++ {
		name := fmt.Sprintf("etcd%d", i)
		c.names = append(c.names, name)
		c.client = append(c.client, "http://"+ports[2*i-2])
		c.peer = append(c.peer, "http://"+ports[2*i-1])
		initial = append(initial, name+"="+c.peer[i-1])
	}
	c.initial = strings.Join(initial, ",")
	for i := range c.names {
		c.start(i, "new")
	}
	t.Cleanup(func() {
		for _, p := range c.procs {
			p.Process.Kill()
			p.Wait()
		}
	})
	return c
}

func (c *etcdCluster) start(i int, state string) {
	name := c.names[i]
	cmd := exec.Command("etcd", "--name", name, "--data-dir", filepath.Join(c.dir, name),
		"--listen-client-urls", c.client[i], "--advertise-client-urls", c.client[i],
		"--listen-peer-urls", c.peer[i], "--initial-advertise-peer-urls", c.peer[i],
		"--initial-cluster", c.initial, "--initial-cluster-state", state, "--initial-cluster-token", "leaderhook-test",
		"--log-level", "error")
	if err := cmd.Start(); err != nil {
		c.t.Fatal(err)
	}
	c.procs[name] = cmd
}

func (c *etcdCluster) kill(name string) {
	p := c.procs[name]
	p.Process.Kill() // kill -9
	p.Wait()
	delete(c.procs, name)
}

func (c *etcdCluster) restart(name string) {
	for i, n := range c.names {
		if n == name {
			c.start(i, "existing")
		}
	}
}

// stateLog records the states announced, and the members' reports the
// driver received (its OnEvent).
type stateLog struct {
	mu      sync.Mutex
	states  []event.Event
	reports []event.Event
}

func (s *stateLog) State(ev event.Event)  { s.mu.Lock(); s.states = append(s.states, ev); s.mu.Unlock() }
func (s *stateLog) Outcome(rules.Outcome) {}
func (s *stateLog) report(ev event.Event) {
	s.mu.Lock()
	s.reports = append(s.reports, ev)
	s.mu.Unlock()
}

// firstReport returns the first report at or after from that matches.
func (s *stateLog) firstReport(from time.Time, match func(event.Event) bool) (event.Event, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, ev := range s.reports {
		if !ev.Time.Before(from) && match(ev) {
			return ev, true
		}
	}
	return event.Event{}, false
}

// waitReport waits for a member's report at or after from that matches.
func (s *stateLog) waitReport(t *testing.T, what string, from time.Time, match func(event.Event) bool) event.Event {
	t.Helper()
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if ev, ok := s.firstReport(from, match); ok {
			return ev
		}
		if time.Now().After(deadline) {
			s.mu.Lock()
			defer s.mu.Unlock()
			t.Fatalf("timed out waiting for %s; reports: %v", what, s.reports)
		}
	}
}

func (s *stateLog) last() (event.Event, int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.states) == 0 {
		return event.Event{}, 0
	}
	return s.states[len(s.states)-1], len(s.states)
}

func (s *stateLog) waitFor(t *testing.T, what string, cond func(event.Event) bool) event.Event {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if ev, n := s.last(); n > 0 && cond(ev) {
			return ev
		}
		time.Sleep(20 * time.Millisecond)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	t.Fatalf("timed out waiting for %s; states: %v", what, s.states)
	return event.Event{}
}

// TestEtcdPoll: kill etcd's leader, then lose quorum, then restore it; the
// poll source reports the new leader and the leaderless period.
func TestEtcdPoll(t *testing.T) {
	c := startEtcd(t)
	engine, _ := rules.New(rules.Options{})
	log := &stateLog{}
	const stabilize = 2 * time.Second // longer than an etcd election: a leader kill is no loss
	driver := pipeline.NewDriver(engine, []pipeline.ClusterView{{Name: "etcd", Members: c.names, Stabilize: stabilize}}, "etcd", log)
	driver.OnEvent = log.report
	src := &detector.PollSource{Cluster: "etcd", Members: c.client, Preset: &detector.Etcd{}, Interval: 100 * time.Millisecond, Timeout: 500 * time.Millisecond, Watch: true}
	events := make(chan event.Event, 256)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go src.Run(ctx, events)
	go driver.Run(ctx, events, clock.Real{})

	first := log.waitFor(t, "a leader", func(ev event.Event) bool { return ev.Type == event.HasLeader })
	leader := first.LeaderID

	// Members' reports carry etcd's raft term.
	firstTerm := log.waitReport(t, "a report with a term", time.Time{}, func(ev event.Event) bool { return ev.Type == event.HasLeader && ev.Term > 0 }).Term

	c.kill(leader)
	second := log.waitFor(t, "a new leader", func(ev event.Event) bool { return ev.Type == event.HasLeader && ev.LeaderID != leader })
	log.waitReport(t, "a report of the new leader in a later term", time.Time{}, func(ev event.Event) bool {
		return ev.Type == event.HasLeader && ev.LeaderID == second.LeaderID && ev.Term > firstTerm
	})
	if second.PreviousLeaderID != leader {
		t.Errorf("new leader %s announced with previous %q, want %s", second.LeaderID, second.PreviousLeaderID, leader)
	}
	restarted := time.Now()
	c.restart(leader)
	log.waitReport(t, leader+" back, following "+second.LeaderID, restarted, func(ev event.Event) bool {
		return ev.Source == leader && ev.Type == event.HasLeader && ev.LeaderID == second.LeaderID
	})

	// Quorum loss: kill the leader and one follower.
	var victim, survivor string
	for _, n := range c.names {
		switch {
		case n == second.LeaderID:
		case victim == "":
			victim = n
		default:
			survivor = n
		}
	}
	killedAt := time.Now()
	c.kill(second.LeaderID)
	c.kill(victim)
	lost := log.waitFor(t, "the loss", func(ev event.Event) bool { return ev.Type == event.Leaderless })
	// Two of three members down: no majority can be up, so no election is
	// in progress; the loss is announced as soon as the second is found
	// down, not after stabilize, and dated from its true start.
	if lost.Since.Before(killedAt) {
		t.Errorf("the loss is dated %s before the kill", killedAt.Sub(lost.Since))
	}
	var downs []time.Time
	for _, gone := range []string{second.LeaderID, victim} {
		ev := log.waitReport(t, gone+" down", killedAt, func(ev event.Event) bool { return ev.Source == gone && ev.Type == event.MemberDown })
		downs = append(downs, ev.Time)
	}
	if second := max(downs[0].UnixNano(), downs[1].UnixNano()); lost.Time.UnixNano() != second || lost.Since.UnixNano() > second {
		t.Errorf("the loss since %s was announced at %s, want at once when the second member was found down (%v)", lost.Since, lost.Time, downs)
	}
	// The survivor, alone, loses its leader too: the cluster has none.
	log.waitReport(t, survivor+" without a leader", killedAt, func(ev event.Event) bool { return ev.Source == survivor && ev.Type == event.Leaderless })
	restarted = time.Now()
	c.restart(second.LeaderID)
	c.restart(victim)
	back := log.waitFor(t, "a leader again", func(ev event.Event) bool { return ev.Type == event.HasLeader })
	if back.PreviousLeaderID != second.LeaderID {
		t.Errorf("restored leader %s with previous %q, want %s", back.LeaderID, back.PreviousLeaderID, second.LeaderID)
	}
	if back.Time.Before(restarted) {
		t.Errorf("leader %s announced at %s, before the restart at %s: the leaderless period since %s is shorter than the outage", back.LeaderID, back.Time, restarted, lost.Since)
	}
}
