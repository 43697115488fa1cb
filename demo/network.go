package demo

import (
	"errors"
	"fmt"
	"net"
	"sync"
	"time"

	"github.com/hashicorp/raft"
)

// Network connects the cluster's nodes over TCP on 127.0.0.1 and can cut
// it: a partition refuses new connections between the two sides and closes
// the open ones, in both directions, while every node keeps running.
type Network struct {
	mu    sync.Mutex
	ids   map[string]string // address → node id
	side  map[string]int    // node id → partition side; all 0 when whole
	conns map[string][]net.Conn
}

func newNetwork() *Network {
	return &Network{ids: map[string]string{}, side: map[string]int{}, conns: map[string][]net.Conn{}}
}

// Partition splits the nodes into the given groups; nodes not named stay
// with the first group.
func (n *Network) Partition(groups ...[]string) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.side = map[string]int{}
	for i, g := range groups {
		for _, id := range g {
			n.side[id] = i
		}
	}
	for key, cs := range n.conns {
		var a, b string
		fmt.Sscanf(key, "%s %s", &a, &b)
		if n.side[a] != n.side[b] {
			for _, c := range cs {
				c.Close()
			}
			delete(n.conns, key)
		}
	}
}

// Heal joins the network again.
func (n *Network) Heal() { n.Partition() }

func (n *Network) cut(a, b string) bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.side[a] != n.side[b]
}

func (n *Network) track(a, b string, c net.Conn) {
	n.mu.Lock()
	defer n.mu.Unlock()
	key := a + " " + b
	n.conns[key] = append(n.conns[key], c)
}

// stream is a raft.StreamLayer on TCP that introduces itself on each
// connection, so that the other side knows which node is calling.
type stream struct {
	net  *Network
	self string
	l    net.Listener
}

var errPartitioned = errors.New("network partitioned")

func (s *stream) Dial(address raft.ServerAddress, timeout time.Duration) (net.Conn, error) {
	s.net.mu.Lock()
	peer := s.net.ids[string(address)]
	s.net.mu.Unlock()
	if s.net.cut(s.self, peer) {
		return nil, errPartitioned
	}
	c, err := net.DialTimeout("tcp", string(address), timeout)
	if err != nil {
		return nil, err
	}
	if _, err := fmt.Fprintf(c, "%s\n", s.self); err != nil {
		c.Close()
		return nil, err
	}
	s.net.track(s.self, peer, c)
	return c, nil
}

func (s *stream) Accept() (net.Conn, error) {
	for {
		c, err := s.l.Accept()
		if err != nil {
			return nil, err
		}
		c.SetReadDeadline(time.Now().Add(time.Second))
		peer, err := readLine(c)
		c.SetReadDeadline(time.Time{})
		if err != nil || s.net.cut(peer, s.self) {
			c.Close()
			continue
		}
		s.net.track(peer, s.self, c)
		return c, nil
	}
}

// readLine reads the introduction byte by byte, leaving raft's data unread.
func readLine(c net.Conn) (string, error) {
	var b []byte
	one := make([]byte, 1)
	for len(b) < 64 {
		if _, err := c.Read(one); err != nil {
			return "", err
		}
		if one[0] == '\n' {
			return string(b), nil
		}
		b = append(b, one[0])
	}
	return "", errors.New("introduction too long")
}

func (s *stream) Close() error   { return s.l.Close() }
func (s *stream) Addr() net.Addr { return s.l.Addr() }
