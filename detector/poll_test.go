package detector

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"testing/synctest"
	"time"

	"github.com/leaderhook/leaderhook/event"
)

func serve(t *testing.T, h http.HandlerFunc) string {
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv.URL
}

// next returns the next event of out that is not a membership, with the
// membership it came after.
func next(t *testing.T, out <-chan event.Event, what string) event.Event {
	t.Helper()
	deadline := time.After(5 * time.Second)
	for {
		select {
		case ev := <-out:
			if ev.Type != event.MembersChanged {
				return ev
			}
		case <-deadline:
			t.Fatalf("no %s", what)
		}
	}
}

// Members report only changes; one that answers nothing sensible is
// unknown once the grace period has passed, not a member that follows
// nobody.
func TestPollSource(t *testing.T) {
	var mu sync.Mutex
	leader := "b"
	polls := map[string]int{}
	member := func(name string) string {
		return serve(t, func(w http.ResponseWriter, r *http.Request) {
			mu.Lock()
			defer mu.Unlock()
			polls[name]++
			fmt.Fprintf(w, `{"store":{"node_id":%q,"leader":{"node_id":%q}}}`, name, leader)
		})
	}
	dead := serve(t, func(w http.ResponseWriter, r *http.Request) {}) + "/gone" // answers, but nothing
	src := &PollSource{Cluster: "c", Members: []string{member("a"), member("b"), dead}, Preset: Rqlite{},
		Interval: 20 * time.Millisecond, Grace: 100 * time.Millisecond}
	out := make(chan event.Event, 64)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go src.Run(ctx, out)
	got := map[string]string{}
	var membership []string
	for deadline := time.After(5 * time.Second); len(got) < 3; {
		select {
		case ev := <-out:
			if ev.Type == event.MembersChanged {
				membership = ev.Peers
				continue
			}
			if !slices.Contains(membership, ev.Source) {
				t.Fatalf("a report of %s before a membership that names it: %v", ev.Source, membership)
			}
			got[ev.Source] = ev.Type + " " + ev.LeaderID
		case <-deadline:
			t.Fatalf("got %v", got)
		}
	}
	if got["a"] != "state.has_leader b" || got["b"] != "state.has_leader b" || got[dead] != "member.unknown " {
		t.Errorf("reports %v", got)
	}
	// Nothing more while nothing changes: let each member be polled twice more.
	mu.Lock()
	then := maps.Clone(polls)
	mu.Unlock()
	waitUntil(t, "two more polls of each", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return polls["a"] >= then["a"]+2 && polls["b"] >= then["b"]+2
	})
	if len(out) != 0 {
		t.Errorf("%d reports without a change", len(out))
	}
	mu.Lock()
	leader = ""
	mu.Unlock()
	if ev := next(t, out, "report after the change"); ev.Type != event.Leaderless {
		t.Errorf("after the change: %+v", ev)
	}
}

// A member's answer is held to the limits of an event over HTTP: one that
// names a leader or itself with an id over event.MaxStringBytes is an
// answer not understood (the member is unknown after the grace period),
// not a report whose id state, history and every notification would carry.
func TestPollSourceRefusesHugeIDs(t *testing.T) {
	huge := strings.Repeat("x", event.MaxStringBytes+1)
	for _, tc := range []struct{ name, self, leader string }{
		{"leader", "a", huge},
		{"self", huge, "a"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			member := serve(t, func(w http.ResponseWriter, r *http.Request) {
				fmt.Fprintf(w, `{"store":{"node_id":%q,"leader":{"node_id":%q}}}`, tc.self, tc.leader)
			})
			src := &PollSource{Cluster: "c", Members: []string{member}, Preset: Rqlite{},
				Interval: 20 * time.Millisecond, Grace: 100 * time.Millisecond}
			out := make(chan event.Event, 64)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			go src.Run(ctx, out)
			ev := next(t, out, "report")
			if ev.Type != event.MemberUnknown || len(ev.Source) > event.MaxStringBytes || len(ev.LeaderID) > event.MaxStringBytes {
				t.Fatalf("got %s (%d-byte source, %d-byte leader), want member.unknown", ev.Type, len(ev.Source), len(ev.LeaderID))
			}
			if !strings.Contains(ev.Reason, "over the limit of 256") {
				t.Errorf("reason %q does not say why", ev.Reason)
			}
		})
	}
}

func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); !cond(); time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

// A member whose process is gone (its address refuses connections) is
// down at once: no grace period. With its connection held, that is seen
// as soon as it goes, long before the next poll, and every member is
// polled again at once.
func TestPollSourceMemberDown(t *testing.T) {
	var mu sync.Mutex
	polls := map[string]int{}
	member := func(name string) *httptest.Server {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			mu.Lock()
			polls[name]++
			mu.Unlock()
			fmt.Fprintf(w, `{"store":{"node_id":%q,"leader":{"node_id":"a"}}}`, name)
		}))
		t.Cleanup(srv.Close)
		return srv
	}
	a, b := member("a"), member("b")
	src := &PollSource{Cluster: "c", Members: []string{a.URL, b.URL}, Preset: Rqlite{}, Interval: time.Hour, Watch: true}
	// Polls start at a random point of the first interval: an hour here.
	// The test stands in for that wait with the source's kick.
	out := make(chan event.Event, 64)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	c := src.newCluster(out)
	go c.run(ctx, src)
	for first := 0; first < 2; {
		c.kickAll() // again until both polled: a poll may not be waiting yet
		select {
		case ev := <-out:
			if ev.Type != event.MembersChanged {
				first++
			}
		case <-time.After(10 * time.Millisecond):
		}
	}
	mu.Lock()
	before := polls["b"]
	mu.Unlock()
	a.CloseClientConnections()
	a.Close()
	ev := next(t, out, "member.down")
	if ev.Type != event.MemberDown || ev.Source != "a" || !strings.Contains(ev.Reason, "refused") {
		t.Errorf("after a's process went: %+v, want a down, refused", ev)
	}
	waitUntil(t, "b polled again at once", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return polls["b"] > before
	})
}

// A member that answers slowly delays nobody else's polls. Only the
// first round's reports wait for it: the first verdict is made from every
// member.
func TestPollSourceSlowMemberDelaysOnlyItself(t *testing.T) {
	release := make(chan struct{})
	var once sync.Once
	free := func() { once.Do(func() { close(release) }) }
	defer free()
	slow := serve(t, func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	})
	var mu sync.Mutex
	fastPolls := 0
	fast := serve(t, func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		fastPolls++
		mu.Unlock()
		io.WriteString(w, `{"store":{"node_id":"fast","leader":{"node_id":"fast"}}}`)
	})
	src := &PollSource{Cluster: "c", Members: []string{slow, fast}, Preset: Rqlite{}, Interval: 20 * time.Millisecond, Timeout: time.Hour}
	out := make(chan event.Event, 64)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go src.Run(ctx, out)
	waitUntil(t, "the fast member polled again and again", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return fastPolls >= 3
	})
	if len(out) != 0 {
		t.Errorf("%d events before the slow member's first poll ended", len(out))
	}
	free()
	if ev := next(t, out, "the fast member's report"); ev.Source != "fast" {
		t.Errorf("first report %+v, want the fast member's", ev)
	}
}

// A member that cannot be polled when leaderhook starts is known by its
// URL until it answers; then it is known by its name only. It must not
// stay in the cluster as one more member that follows nobody: with it, a
// later loss of one member would leave the leader without a majority.
func TestPollSourceMemberDownAtStartJoinsUnderItsName(t *testing.T) {
	var mu sync.Mutex
	down := map[string]bool{"c": true}
	member := func(name string) string {
		return serve(t, func(w http.ResponseWriter, r *http.Request) {
			mu.Lock()
			defer mu.Unlock()
			if down[name] {
				http.Error(w, "down", http.StatusServiceUnavailable)
				return
			}
			fmt.Fprintf(w, `{"store":{"node_id":%q,"leader":{"node_id":"b"}}}`, name)
		})
	}
	src := &PollSource{Cluster: "c", Members: []string{member("a"), member("b"), member("c")}, Preset: Rqlite{},
		Interval: 20 * time.Millisecond, Grace: 60 * time.Millisecond}
	out := make(chan event.Event, 64)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go src.Run(ctx, out)
	view := NewView("c", nil, 0)
	// observe feeds the view until cond holds.
	observe := func(what string, cond func() bool) {
		t.Helper()
		deadline := time.After(5 * time.Second)
		for !cond() {
			select {
			case ev := <-out:
				view.Observe(ev, nil)
			case <-deadline:
				t.Fatalf("%s: view %+v", what, view.State())
			}
		}
	}
	observe("a leader while c does not answer", func() bool { return view.State().LeaderID == "b" })
	mu.Lock()
	down["c"] = false
	mu.Unlock()
	observe("c answers", func() bool { return view.State().Reports["c"].Follows == "b" })
	if got := view.Members(); !slices.Equal(got, []string{"a", "b", "c"}) {
		t.Errorf("members %q, want a, b, c", got)
	}
	mu.Lock()
	down["a"] = true // b and c still follow b: 2 of 3
	mu.Unlock()
	observe("a unknown", func() bool { return view.State().Reports["a"].Unknown })
	if st := view.State(); st.LeaderID != "b" {
		t.Errorf("with a not answering, b and c still follow b, but the view says %+v", st)
	}
}

// A member that answers too late is logged with the limit it missed, and
// logged again when it answers.
func TestPollSourceLogsTimeoutsAndRecovery(t *testing.T) {
	var mu sync.Mutex
	slow := true
	url := serve(t, func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		s := slow
		mu.Unlock()
		if s {
			select {
			case <-r.Context().Done():
			case <-time.After(time.Second):
			}
			return
		}
		fmt.Fprint(w, `{"store":{"node_id":"a","leader":{"node_id":"a"}}}`)
	})
	var logs lockedBuffer
	src := &PollSource{Cluster: "c", Members: []string{url}, Preset: Rqlite{}, Interval: 40 * time.Millisecond, Timeout: 20 * time.Millisecond,
		Log: slog.New(slog.NewTextHandler(&logs, nil))}
	out := make(chan event.Event, 64)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go src.Run(ctx, out)
	waitLog := func(want string) {
		t.Helper()
		for deadline := time.Now().Add(5 * time.Second); !strings.Contains(logs.String(), want); time.Sleep(10 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("the log lacks %q:\n%s", want, logs.String())
			}
		}
	}
	waitLog(`msg="member poll failed" cluster=c member=` + url + ` err="no answer within 20ms (source.timeout)"`)
	mu.Lock()
	slow = false
	mu.Unlock()
	waitLog(`msg="member poll answers again" cluster=c member=` + url)
}

type lockedBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// scripted stands in for a cluster's members: each answers its polls after
// a delay (on synctest's clock), with a fixed report or error; a member
// without a script never answers.
type scripted map[string]reply

type reply struct {
	delay  time.Duration
	leader string
	err    error
}

func (s scripted) Poll(ctx context.Context, _ *http.Client, member string) (Report, error) {
	a, ok := s[member]
	if !ok {
		a.delay = 1000 * time.Hour
	}
	t := time.NewTimer(a.delay)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return Report{}, ctx.Err()
	case <-t.C:
	}
	return Report{Self: member, Leader: a.leader}, a.err
}

var refusedErr = fmt.Errorf("dial tcp: %w", syscall.ECONNREFUSED)

// firstVerdict runs a poll source into a view as the daemon does, and
// returns the view's first announcement with the view.
func firstVerdict(t *testing.T, src *PollSource, stabilize time.Duration) (event.Event, *View) {
	t.Helper()
	out := make(chan event.Event, 64)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go src.Run(ctx, out)
	view := NewView(src.Cluster, nil, stabilize)
	limit := time.After(time.Hour)
	var states []event.Event
	for len(states) == 0 {
		var due <-chan time.Time
		if d, ok := view.Deadline(); ok {
			due = time.After(time.Until(d))
		}
		select {
		case ev := <-out:
			if states = view.Advance(ev.Time, states); len(states) == 0 {
				states = view.Observe(ev, states)
			}
		case <-due:
			states = view.Advance(time.Now(), states)
		case <-limit:
			t.Fatalf("no verdict within an hour: %+v", view.State())
		}
	}
	return states[0], view
}

// The first verdict comes once every member has been polled once, whatever
// the order the polls happen to come in and however long they take: a
// member that has not been heard from yet is not one that follows nobody,
// and a member down at start counts as one of the members, down.
func TestPollSourceFirstVerdictAfterFirstRound(t *testing.T) {
	const interval, stabilize = 10 * time.Second, 2 * time.Second
	slow := 3 * interval / 2 // longer than any first poll's delay: the others answer first
	cases := []struct {
		name    string
		members scripted
		want    string // type and leader
		down    []string
	}{
		{"slow answers, one never", scripted{"a": {0, "b", nil}, "b": {slow, "b", nil}}, "state.has_leader b", nil},
		{"one down at start", scripted{"a": {0, "", refusedErr}, "b": {slow, "b", nil}, "c": {slow, "b", nil}}, "state.has_leader b", []string{"a"}},
		{"majority down at start", scripted{"a": {0, "", refusedErr}, "b": {0, "", refusedErr}, "c": {slow, "", nil}}, "state.is_leaderless ", []string{"a", "b"}},
		{"all answer", scripted{"a": {0, "b", nil}, "b": {0, "b", nil}, "c": {0, "b", nil}}, "state.has_leader b", nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				start := time.Now()
				src := &PollSource{Cluster: "c", Members: []string{"a", "b", "c"}, Preset: tc.members, Interval: interval}
				ev, view := firstVerdict(t, src, stabilize)
				if got := ev.Type + " " + ev.LeaderID; got != tc.want || !ev.Baseline {
					t.Errorf("first verdict %q (baseline %v) at %s, want %q as a baseline", got, ev.Baseline, ev.Time.Sub(start), tc.want)
				}
				if !slices.Equal(ev.Members, []string{"a", "b", "c"}) {
					t.Errorf("verdict on members %q, want a, b, c", ev.Members)
				}
				if h := view.Health(); !slices.Equal(h.Unreachable, tc.down) || h.MembersUp != 3-len(tc.down) {
					t.Errorf("health %+v, want %q down", h, tc.down)
				}
				// A leaderless cluster is dated from when leaderhook first
				// knew it: once every member was polled, not before.
				if ev.Type == event.Leaderless && !ev.Since.Equal(ev.Time) {
					t.Errorf("leaderless since %s, announced at %s", ev.Since.Sub(start), ev.Time.Sub(start))
				}
			})
		})
	}
}

// Polled OpenZiti controllers are named by their raft ids, as the leader
// is: the leader is a member that claims the lead, and once its process is
// gone, the survivors still naming it do not keep it leader.
func TestPollSourceOpenZitiLeaderIsAMember(t *testing.T) {
	var mu sync.Mutex
	var addrs []string // tls:host:port of ctrl1..3, each polled at that host and port
	controller := func() *httptest.Server {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Method == http.MethodPost {
				io.WriteString(w, `{"data":{"token":"t"}}`)
				return
			}
			mu.Lock()
			defer mu.Unlock()
			var list []string
			for i, a := range addrs {
				list = append(list, fmt.Sprintf(`{"id":"ctrl%d","address":%q,"leader":%t}`, i+1, a, i == 1))
			}
			fmt.Fprintf(w, `{"data":[%s]}`, strings.Join(list, ","))
		}))
		t.Cleanup(srv.Close)
		return srv
	}
	servers := []*httptest.Server{controller(), controller(), controller()}
	var urls []string
	mu.Lock()
	for _, s := range servers {
		urls = append(urls, s.URL)
		addrs = append(addrs, "tls:"+strings.TrimPrefix(s.URL, "http://"))
	}
	mu.Unlock()
	src := &PollSource{Cluster: "ziti", Members: urls, Preset: &OpenZiti{Username: "u", Password: "p"}, Interval: 20 * time.Millisecond}
	view, observe := watchPoll(t, src)
	observe("ctrl2 leads, a member claiming the lead", func() bool {
		h := view.Health()
		return slices.Equal(view.Members(), []string{"ctrl1", "ctrl2", "ctrl3"}) && view.State().LeaderID == "ctrl2" &&
			len(h.Leaders) == 1 && h.Leaders[0].ID == "ctrl2"
	})
	servers[1].CloseClientConnections()
	servers[1].Close()
	observe("ctrl2's process gone: no leader, though ctrl1 and ctrl3 still name it", func() bool {
		st := view.State()
		return st.Reports["ctrl2"].Down && st.LeaderID == ""
	})
}

// Polled members of the generic preset with a self expression go by the
// API's ids, as the leader does: once the leader's process is gone, the
// survivors still naming it do not keep it leader. Without self, the
// members would go by their URLs and node1 would lead on.
func TestPollSourceGenericSelfNamesTheMember(t *testing.T) {
	node := func(id string) *httptest.Server {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			fmt.Fprintf(w, `{"id":%q,"leader_id":"node1"}`, id)
		}))
		t.Cleanup(srv.Close)
		return srv
	}
	servers := []*httptest.Server{node("node1"), node("node2"), node("node3")}
	var urls []string
	for _, s := range servers {
		urls = append(urls, s.URL)
	}
	preset := must(NewGeneric(Source{Path: "/raft/leader", Leader: `response.leader_id ?? ""`, Self: "response.id"}))
	src := &PollSource{Cluster: "orders", Members: urls, Preset: preset, Interval: 20 * time.Millisecond}
	view, observe := watchPoll(t, src)
	observe("node1 leads, a member claiming the lead", func() bool {
		h := view.Health()
		return slices.Equal(view.Members(), []string{"node1", "node2", "node3"}) && view.State().LeaderID == "node1" &&
			len(h.Leaders) == 1 && h.Leaders[0].ID == "node1"
	})
	servers[0].CloseClientConnections()
	servers[0].Close()
	observe("node1's process gone: no leader, though node2 and node3 still name it", func() bool {
		st := view.State()
		return st.Reports["node1"].Down && st.LeaderID == ""
	})
}

// transfer stands for three members a, b and c whose lead moves from a
// (term 1) to b (term 2), as a planned transfer does: a steps down as b
// takes the lead. It happens at a poll of b that comes just after a poll
// of a, so that a's last report (it still leads) would stand for most of
// an interval if nothing asked a again.
type transfer struct {
	mu    sync.Mutex
	after time.Time // no transfer before
	lastA time.Time // when a was last polled
	moved bool
}

func (tr *transfer) Poll(ctx context.Context, _ *http.Client, member string) (Report, error) {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	now := time.Now()
	switch {
	case member == "a":
		tr.lastA = now
	case member == "b" && !tr.moved && !now.Before(tr.after) && !tr.lastA.IsZero() && now.Sub(tr.lastA) < time.Second:
		tr.moved = true
	}
	if tr.moved {
		return Report{Self: member, Leader: "b", Term: 2}, nil
	}
	return Report{Self: member, Leader: "a", Term: 1}, nil
}

// A planned transfer seen first in the new leader's report has every
// member polled at once, as any changed report does: the old leader's
// claim, already withdrawn, does not stand until its next regular poll.
// Polled more slowly than split_brain_after, it would otherwise be taken
// for a split brain at every transfer.
func TestPollSourceTransferIsNoSplitBrain(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const interval = 10 * time.Second
		tr := &transfer{after: time.Now().Add(30 * time.Second)}
		src := &PollSource{Cluster: "c", Members: []string{"a", "b", "c"}, Preset: tr, Interval: interval}
		out := make(chan event.Event, 64)
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		go src.Run(ctx, out)
		view := NewView("c", nil, 2*time.Second)
		var got []string
		moved := false
		// Once b leads, a split brain would be due split_brain_after after
		// b's claim: watch a while longer.
		stop := time.After(2 * time.Hour)
		for {
			var due <-chan time.Time
			if d, ok := view.Deadline(); ok {
				due = time.After(time.Until(d))
			}
			var states []event.Event
			select {
			case ev := <-out:
				states = view.Observe(ev, view.Advance(ev.Time, nil))
			case <-due:
				states = view.Advance(time.Now(), nil)
			case <-stop:
				if !moved {
					t.Fatalf("no transfer to b within two hours: %q", got)
				}
				return
			}
			for _, st := range states {
				if got = append(got, st.Type+" "+st.LeaderID); st.Type == event.SplitBrain {
					t.Fatalf("a transfer announced as a split brain: %q", got)
				}
				if st.Type == event.HasLeader && st.LeaderID == "b" && !moved {
					moved, stop = true, time.After(DefaultSplitBrainAfter+time.Second)
				}
			}
		}
	})
}

// A member URL may carry a password (rqlite's basic auth): it is sent, but
// the member's name (in events, /v1/state, notifications), its failure
// reason and the log show the URL with the password hidden.
func TestPollSourceHidesPasswordOfMemberURL(t *testing.T) {
	const password = "hunter2-secret"
	cases := []struct {
		name   string
		answer http.HandlerFunc
	}{
		{"not JSON", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprint(w, "<html>") }},
		{"an error", func(w http.ResponseWriter, _ *http.Request) { http.Error(w, "down", http.StatusServiceUnavailable) }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var gotPassword string
			url := serve(t, func(w http.ResponseWriter, r *http.Request) {
				_, gotPassword, _ = r.BasicAuth()
				tc.answer(w, r)
			})
			member := strings.Replace(url, "://", "://leaderhook:"+password+"@", 1)
			var logs lockedBuffer
			src := &PollSource{Cluster: "c", Members: []string{member}, Preset: Rqlite{}, Interval: 20 * time.Millisecond,
				Grace: 40 * time.Millisecond, Log: slog.New(slog.NewTextHandler(&logs, nil))}
			out := make(chan event.Event, 64)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			go src.Run(ctx, out)
			var seen []string
			for ev := next(t, out, "member.unknown"); ; ev = next(t, out, "member.unknown") {
				seen = append(seen, ev.Source+" "+ev.Reason)
				if ev.Type == event.MemberUnknown {
					break
				}
			}
			cancel()
			if gotPassword != password {
				t.Errorf("the member got password %q, want the URL's", gotPassword)
			}
			for _, s := range append(seen, logs.String()) {
				if strings.Contains(s, password) {
					t.Errorf("the password shows: %s", s)
				}
			}
			if want := strings.Replace(url, "://", "://leaderhook:xxxxx@", 1); !strings.HasPrefix(seen[len(seen)-1], want+" ") {
				t.Errorf("reported as %q, want the member named %s", seen[len(seen)-1], want)
			}
		})
	}
}

// A sealed Vault node answers 503 "Vault is sealed": it is up, and follows
// no leader. A cluster whose nodes are all sealed (restarted, waiting to be
// unsealed) has no leader, rather than being one leaderhook cannot reach.
func TestPollSourceSealedVaultIsLeaderless(t *testing.T) {
	var urls []string
	for range 3 {
		urls = append(urls, serve(t, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusServiceUnavailable)
			w.Write(presetFile(t, "vault-sealed.json"))
		}))
	}
	src := &PollSource{Cluster: "vault", Members: urls, Preset: Vault{}, Interval: 20 * time.Millisecond}
	out := make(chan event.Event, 64)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go src.Run(ctx, out)
	view := NewView("vault", nil, 0)
	heard := func() bool {
		st := view.State()
		for _, u := range urls {
			if r := st.Reports[u]; r.Last.IsZero() || r.Unknown {
				return false
			}
		}
		return st.Known && st.LeaderID == "" && !view.Health().WatcherIsolated
	}
	for deadline := time.After(5 * time.Second); !heard(); {
		select {
		case ev := <-out:
			view.Observe(ev, nil)
			view.Advance(time.Now(), nil)
		case <-deadline:
			t.Fatalf("sealed nodes: state %+v, health %+v; want all heard, leaderless", view.State(), view.Health())
		}
	}
}

// MemberName hides the password of a member's URL even where url.Parse
// refuses the URL or does not see the user info, as when a password
// holds a '/': everything up to the last '@' that could end it is hidden.
func TestMemberNameHidesPasswordOfMalformedURL(t *testing.T) {
	cases := []struct{ member, want string }{
		{"http://root:pa/ss9Secret@db1:2379", "http://root:xxxxx@db1:2379"},
		{"http://root:pa?ss9Secret@db1:2379", "http://root:xxxxx@db1:2379"},
		{"http://root:pa#ss9Secret@db1:2379", "http://root:xxxxx@db1:2379"},
		{"http://root:1234/ss9Secret@db1:2379", "http://root:xxxxx@db1:2379"},
		{"http://root:pass9Secret@db1:23x79", "http://root:xxxxx@db1:23x79"},
		{"http://root:pa/ss9Secret@db1:2379/v2@x", "http://root:xxxxx@x"},
		{"root:pa/ss9Secret@db1:2379", "root:xxxxx@db1:2379"},
		{"http://ro/ot:pa/ss9Secret@db1:2379", "http://ro/ot:xxxxx@db1:2379"},
		{"http://root:pw9Secret@db1:2379", "http://root:xxxxx@db1:2379"},
		{"http://root@db1:2379", "http://root@db1:2379"},
		{"http://db1:2379", "http://db1:2379"},
		{"http://db1:23x79", "http://db1:23x79"},
		// An '@' after the host may end a password that holds a '/'.
		{"http://db1:2379/v2@x", "http://db1:xxxxx@x"},
		{"http://db1/v2@x", "http://db1/v2@x"},
	}
	for _, tc := range cases {
		if got := MemberName(tc.member); got != tc.want {
			t.Errorf("MemberName(%q) = %q, want %q", tc.member, got, tc.want)
		}
	}
}

// A poll of a member whose URL holds a password that url.Parse does not
// see fails with errors that may show parts of it (as a host or a port):
// they are replaced whole, naming the member as MemberName does.
func TestHideURLOfMalformedMemberHidesTheWholeError(t *testing.T) {
	for _, member := range []string{"http://root:pa/ss9Secret@db1:2379", "http://root:1234/ss9Secret@db1:2379"} {
		err := fmt.Errorf("Get %q: dial tcp: lookup root: no such host; invalid port \":pa\"", member+"/v3/status")
		got := hideURL(err, member).Error()
		if strings.Contains(got, "ss9Secret") || strings.Contains(got, ":pa\"") || strings.Contains(got, "1234") {
			t.Errorf("hideURL(%q) = %q, shows the password", member, got)
		}
		if !strings.Contains(got, "http://root:xxxxx@db1:2379") {
			t.Errorf("hideURL(%q) = %q, does not name the member", member, got)
		}
	}
}

// watchPoll runs src until the end of the test into a view, and returns
// the view and a function that feeds it src's events until cond holds,
// failing the test after a few seconds.
func watchPoll(t *testing.T, src *PollSource) (*View, func(what string, cond func() bool)) {
	out := make(chan event.Event, 64)
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	go src.Run(ctx, out)
	view := NewView(src.Cluster, nil, 0)
	return view, func(what string, cond func() bool) {
		t.Helper()
		for deadline := time.After(5 * time.Second); !cond(); {
			select {
			case ev := <-out:
				view.Observe(ev, nil)
			case <-deadline:
				t.Fatalf("%s: members %q, health %+v, state %+v", what, view.Members(), view.Health(), view.State())
			}
		}
	}
}
