package tests

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/leaderhook/leaderhook/internal/benchdoc"
)

// TestEtcdStallIsNoLoss: etcd's followers stall (SIGSTOP) 700 ms of every
// 800 ms for 30 s while `leaderhook run` polls the cluster with the
// cookbook's etcd.yaml. etcd keeps its leader all along (the test checks
// that its term did not move), so leaderhook must announce no loss and
// fire no leaderless rule. Then the leader is killed: the change is
// announced, and a loss still is not (the election is shorter than the
// cookbook's stabilize).
func TestEtcdStallIsNoLoss(t *testing.T) {
	c := startEtcd(t)
	leader, term := waitEtcdAgree(t, c, "")
	hooks := &notificationLog{}
	srv := httptest.NewServer(hooks)
	defer srv.Close()
	t.Setenv("SLACK_WEBHOOK_URL", srv.URL+"/chat")
	t.Setenv("PAGER_URL", srv.URL+"/page")
	t.Setenv("PAGE_SECRET", "whsec_c2VjcmV0LXNlY3JldA==")
	listen := freePort(t)
	d := startDaemon(t, cookbookEtcdConfig(t, c, listen))
	waitLeaderhookAgrees(t, d, listen, leader)

	quiet := markLosses(d, hooks)
	stallFollowers(t, c, leader, 700*time.Millisecond, 800*time.Millisecond, 30*time.Second)
	if after, afterTerm := waitEtcdAgree(t, c, ""); after != leader || afterTerm != term {
		t.Fatalf("etcd itself held an election during the stalls (leader %s term %s, then %s term %s): the test proves nothing",
			leader, term, after, afterTerm)
	}
	quiet.check(t, "while the followers stalled")

	quiet = markLosses(d, hooks)
	killed := time.Now()
	c.kill(leader)
	waitEtcdAgree(t, c, leader) // the survivors
	elected := time.Since(killed)
	waitFor(t, "the leader change announced", func() bool {
		return len(stateLines(d, func(l stateLine) bool {
			return l.EventType == "state.has_leader" && l.PreviousLeaderID == leader && l.LeaderID != leader
		})) > 0
	}, d)
	waitFor(t, "the leader change notified", func() bool { return len(hooks.firings(claimChange)) > 0 }, d)
	c.restart(leader)
	next, _ := waitEtcdAgree(t, c, leader)
	waitLeaderhookAgrees(t, d, listen, next)
	// The cookbook's stabilize outlasts an election. One that etcd itself
	// drew out past it (a loaded machine starves it) is a loss, and rightly
	// announced: only a quick election proves anything here.
	if stabilize := 3 * time.Second; elected < stabilize*5/6 {
		quiet.check(t, "after the leader was killed")
	} else {
		t.Logf("etcd took %s to elect a leader, close to the stabilize (%s): a loss may be announced", elected, stabilize)
	}
}

// cookbookEtcdConfig writes the cookbook's etcd.yaml with this cluster's
// members, a state_dir of its own and the given listen address.
func cookbookEtcdConfig(t *testing.T, c *etcdCluster, listen string) string {
	t.Helper()
	text, err := benchdoc.FencedFile("../docs/cookbook.md", "etcd.yaml")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	text, err = benchdoc.LocalConfig(text, c.client, filepath.Join(dir, "state"), listen)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "etcd.yaml")
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// etcdStatus is what POST /v3/maintenance/status answers; Leader is empty
// (or "0") while the member has none.
type etcdStatus struct {
	Header struct {
		MemberID string `json:"member_id"`
	} `json:"header"`
	Leader   string `json:"leader"`
	RaftTerm string `json:"raftTerm"`
}

func etcdPost(url string, into any) error {
	client := http.Client{Timeout: time.Second}
	resp, err := client.Post(url, "application/json", strings.NewReader("{}"))
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s: HTTP %d", url, resp.StatusCode)
	}
	return json.NewDecoder(resp.Body).Decode(into)
}

// etcdAgreement returns the leader's name and the raft term when every
// running member names the same leader, other than not.
func etcdAgreement(c *etcdCluster, not string) (string, string, bool) {
	var leader, term, asked string
	for i, url := range c.client {
		if c.procs[c.names[i]] == nil {
			continue // killed: the survivors agree among themselves
		}
		asked = url
		var st etcdStatus
		if err := etcdPost(url+"/v3/maintenance/status", &st); err != nil || st.Leader == "" || st.Leader == "0" {
			return "", "", false
		}
		if leader != "" && (st.Leader != leader || st.RaftTerm != term) {
			return "", "", false
		}
		leader, term = st.Leader, st.RaftTerm
	}
	var list struct {
		Members []struct {
			ID   string `json:"ID"`
			Name string `json:"name"`
		} `json:"members"`
	}
	if err := etcdPost(asked+"/v3/cluster/member/list", &list); err != nil {
		return "", "", false
	}
	for _, m := range list.Members {
		if m.ID == leader && m.Name != not {
			return m.Name, term, true
		}
	}
	return "", "", false
}

// waitEtcdAgree waits until all three members follow one leader (not
// the one named not) and returns its name and the term.
func waitEtcdAgree(t *testing.T, c *etcdCluster, not string) (string, string) {
	t.Helper()
	var leader, term string
	waitFor(t, "etcd's members to agree on a leader", func() bool {
		var ok bool
		leader, term, ok = etcdAgreement(c, not)
		return ok
	})
	return leader, term
}

// waitLeaderhookAgrees waits until GET /v1/state shows leader followed by
// every member.
func waitLeaderhookAgrees(t *testing.T, d *daemon, listen, leader string) {
	t.Helper()
	waitFor(t, "leaderhook to see every member follow "+leader, func() bool {
		var st struct {
			Clusters []struct {
				HasLeader bool   `json:"has_leader"`
				LeaderID  string `json:"leader_id"`
				Members   []struct {
					Follows string `json:"follows"`
				} `json:"members"`
			} `json:"clusters"`
		}
		code, body := get(t, "http://"+listen+"/v1/state")
		if code != http.StatusOK || json.Unmarshal([]byte(body), &st) != nil || len(st.Clusters) != 1 {
			return false
		}
		cl := st.Clusters[0]
		agreeing := 0
		for _, m := range cl.Members {
			if m.Follows == leader {
				agreeing++
			}
		}
		return cl.HasLeader && cl.LeaderID == leader && agreeing == 3
	}, d)
}

// stallFollowers stops the members other than leader for stopped out of
// every period, for total, and leaves them running.
func stallFollowers(t *testing.T, c *etcdCluster, leader string, stopped, period, total time.Duration) {
	t.Helper()
	var followers []*os.Process
	for name, cmd := range c.procs {
		if name != leader {
			followers = append(followers, cmd.Process)
		}
	}
	signal := func(sig syscall.Signal) {
		for _, p := range followers {
			if err := p.Signal(sig); err != nil {
				t.Errorf("signal %v: %v", sig, err)
			}
		}
	}
	defer signal(syscall.SIGCONT)
	// Each cycle is placed on the start's grid, so that the schedule does
	// not drift with the signals' own delays.
	start := time.Now()
	for k := time.Duration(0); k*period < total; k++ {
		<-time.After(time.Until(start.Add(k * period)))
		signal(syscall.SIGSTOP)
		<-time.After(time.Until(start.Add(k*period + stopped)))
		signal(syscall.SIGCONT)
	}
}

// stateLine is a "cluster state" line of the daemon's JSON log.
type stateLine struct {
	Msg              string `json:"msg"`
	EventType        string `json:"event_type"`
	LeaderID         string `json:"leader_id"`
	PreviousLeaderID string `json:"previous_leader_id"`
}

func stateLines(d *daemon, match func(stateLine) bool) []stateLine {
	var found []stateLine
	for _, text := range strings.Split(d.logs(), "\n") {
		var l stateLine
		if json.Unmarshal([]byte(text), &l) == nil && l.Msg == "cluster state" && match(l) {
			found = append(found, l)
		}
	}
	return found
}

func lossLines(d *daemon) []stateLine {
	return stateLines(d, func(l stateLine) bool { return l.EventType == "state.is_leaderless" })
}

// lossMark holds how many losses the daemon had announced, and how many
// notifications had said there is no leader, when a phase began.
type lossMark struct {
	d              *daemon
	hooks          *notificationLog
	states, claims int
}

func markLosses(d *daemon, hooks *notificationLog) lossMark {
	return lossMark{d: d, hooks: hooks, states: len(lossLines(d)), claims: len(hooks.firings(claimLoss))}
}

// check fails the test if a loss was announced, or notified, since the mark.
func (m lossMark) check(t *testing.T, when string) {
	t.Helper()
	if lost := lossLines(m.d)[m.states:]; len(lost) > 0 {
		t.Errorf("%s: %d losses announced (state.is_leaderless): %+v", when, len(lost), lost)
	}
	if said := m.hooks.firings(claimLoss)[m.claims:]; len(said) > 0 {
		t.Errorf("%s: %d notifications say there is no leader:\n%s", when, len(said), strings.Join(said, "\n"))
	}
}

// What a firing notification says of the cluster.
const (
	claimLoss   = "no leader"
	claimChange = "new leader"
	claimOther  = "other"
)

// notificationLog receives the cookbook's two actions: the pager's
// webhook (/page, leaderhook's JSON payload) and Slack (/chat).
type notificationLog struct {
	mu  sync.Mutex
	got map[string][]string // claim → what each firing said
}

func (n *notificationLog) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	claim, said, firing := claimOf(r.URL.Path, body)
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.got == nil {
		n.got = map[string][]string{}
	}
	if firing {
		n.got[claim] = append(n.got[claim], r.URL.Path+": "+said)
	}
}

// firings returns what each firing of claim said, in order of arrival.
func (n *notificationLog) firings(claim string) []string {
	n.mu.Lock()
	defer n.mu.Unlock()
	return append([]string(nil), n.got[claim]...)
}

// claimOf reads a firing's claim, and a line saying what it said, from
// the webhook's payload or from the Slack message's text
// ("🔴 [FIRING] rule on cluster: no leader ...").
func claimOf(path string, body []byte) (claim, said string, firing bool) {
	if path == "/chat" {
		var msg struct {
			Text string `json:"text"`
		}
		if json.Unmarshal(body, &msg) != nil || !strings.Contains(msg.Text, "[FIRING]") {
			return "", "", false
		}
		_, summary, _ := strings.Cut(msg.Text, ": ")
		switch {
		case strings.HasPrefix(summary, "no leader"):
			return claimLoss, msg.Text, true
		case strings.Contains(summary, "(was "):
			return claimChange, msg.Text, true
		}
		return claimOther, msg.Text, true
	}
	var p struct {
		Rule    string `json:"rule"`
		Status  string `json:"status"`
		FiredAt string `json:"fired_at"`
		State   struct {
			LeaderID         string `json:"leader_id"`
			PreviousLeaderID string `json:"previous_leader_id"`
			Leaderless       bool   `json:"leaderless"`
		} `json:"state"`
	}
	if json.NewDecoder(bytes.NewReader(body)).Decode(&p) != nil || p.Status != "firing" {
		return "", "", false
	}
	said = fmt.Sprintf("%s fired at %s: leader %q, previous %q", p.Rule, p.FiredAt, p.State.LeaderID, p.State.PreviousLeaderID)
	switch {
	case p.State.Leaderless || p.State.LeaderID == "":
		return claimLoss, said, true
	case p.State.PreviousLeaderID != "" && p.State.PreviousLeaderID != p.State.LeaderID:
		return claimChange, said, true
	}
	return claimOther, said, true
}
