package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"
)

// cluster is a real three-member etcd (Debian's etcd-server, default
// timers) on 127.0.0.1.
type cluster struct {
	name    string
	dir     string
	initial string
	members []*member
	client  *http.Client

	mu  sync.Mutex
	ids map[string]string // member id → name, learned from the members
}

type member struct {
	name, client, peer string
	proc               *process // nil while killed
}

func startCluster(dir, name string) (*cluster, error) {
	c := &cluster{name: name, dir: dir, client: &http.Client{Timeout: time.Second}, ids: map[string]string{}}
	var initial []string
	for i := 1; i <= 3; i++ {
		client, err := freeAddr()
		if err != nil {
			return nil, err
		}
		peer, err := freeAddr()
		if err != nil {
			return nil, err
		}
		m := &member{name: fmt.Sprintf("etcd%d", i), client: "http://" + client, peer: "http://" + peer}
		c.members = append(c.members, m)
		initial = append(initial, m.name+"="+m.peer)
	}
	c.initial = strings.Join(initial, ",")
	for _, m := range c.members {
		if err := c.start(m, "new"); err != nil {
			c.stop()
			return nil, err
		}
	}
	return c, nil
}

func (c *cluster) start(m *member, state string) error {
	p, err := startProcess(c.dir, c.name+"-"+m.name, nil, "etcd", "--name", m.name,
		"--data-dir", filepath.Join(c.dir, c.name+"-"+m.name+".data"),
		"--listen-client-urls", m.client, "--advertise-client-urls", m.client,
		"--listen-peer-urls", m.peer, "--initial-advertise-peer-urls", m.peer,
		"--initial-cluster", c.initial, "--initial-cluster-state", state,
		"--initial-cluster-token", "leaderhook-bench-"+c.name, "--log-level", "error")
	if err != nil {
		return fmt.Errorf("cluster %s: %w", c.name, err)
	}
	m.proc = p
	return nil
}

func (c *cluster) member(name string) *member {
	for _, m := range c.members {
		if m.name == name {
			return m
		}
	}
	return nil
}

// kill kills the named members (kill -9) and returns the time just before
// the first signal: the kill's time in the results.
func (c *cluster) kill(names ...string) time.Time {
	at := time.Now()
	for _, n := range names {
		if m := c.member(n); m != nil && m.proc != nil {
			m.proc.kill()
			m.proc = nil
		}
	}
	return at
}

// restart starts the named members again on their data.
func (c *cluster) restart(names ...string) error {
	for _, n := range names {
		if m := c.member(n); m != nil && m.proc == nil {
			if err := c.start(m, "existing"); err != nil {
				return err
			}
		}
	}
	return nil
}

func (c *cluster) stop() {
	for _, m := range c.members {
		if m.proc != nil {
			m.proc.kill()
			m.proc = nil
		}
	}
}

func (c *cluster) clientURLs() []string {
	var urls []string
	for _, m := range c.members {
		urls = append(urls, m.client)
	}
	return urls
}

// status is what a member answers to POST /v3/maintenance/status: its
// own id and the leader's, "" (or "0") while it has none.
type status struct {
	Header struct {
		MemberID string `json:"member_id"`
	} `json:"header"`
	Leader string `json:"leader"`
}

func (s status) leader() string {
	if s.Leader == "0" {
		return ""
	}
	return s.Leader
}

func (c *cluster) status(ctx context.Context, m *member) (status, error) {
	var st status
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, m.client+"/v3/maintenance/status", strings.NewReader("{}"))
	if err != nil {
		return st, fmt.Errorf("status of %s: %w", m.name, err)
	}
	resp, err := c.client.Do(req)
	if err != nil {
		return st, fmt.Errorf("status of %s: %w", m.name, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return st, fmt.Errorf("status of %s: HTTP %d", m.name, resp.StatusCode)
	}
	if err := json.NewDecoder(resp.Body).Decode(&st); err != nil {
		return st, fmt.Errorf("status of %s: %w", m.name, err)
	}
	c.mu.Lock()
	c.ids[st.Header.MemberID] = m.name
	c.mu.Unlock()
	return st, nil
}

// nameOf returns a member's name from its id ("" for none, the id when
// no member has answered with it yet).
func (c *cluster) nameOf(id string) string {
	c.mu.Lock()
	defer c.mu.Unlock()
	if name, ok := c.ids[id]; ok || id == "" {
		return name
	}
	return id
}

// agreed returns the leader when all three members run and follow it.
func (c *cluster) agreed(ctx context.Context) (string, bool) {
	leader := ""
	for _, m := range c.members {
		if m.proc == nil {
			return "", false
		}
		st, err := c.status(ctx, m)
		if err != nil || st.leader() == "" || leader != "" && st.leader() != leader {
			return "", false
		}
		leader = st.leader()
	}
	name := c.nameOf(leader)
	return name, c.member(name) != nil
}

// waitAgreed waits until all three members follow one leader.
func (c *cluster) waitAgreed(ctx context.Context, within time.Duration) (string, error) {
	deadline := time.Now().Add(within)
	for {
		if leader, ok := c.agreed(ctx); ok {
			return leader, nil
		}
		if time.Now().After(deadline) {
			return "", fmt.Errorf("cluster %s: the members did not agree on a leader within %s", c.name, within)
		}
		if err := pause(ctx, 50*time.Millisecond); err != nil {
			return "", err
		}
	}
}

// others returns the members not named.
func (c *cluster) others(names ...string) []string {
	var rest []string
	for _, m := range c.members {
		if !slices.Contains(names, m.name) {
			rest = append(rest, m.name)
		}
	}
	return rest
}
