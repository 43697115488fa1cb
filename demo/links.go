package demo

import (
	"io"
	"net"
	"sync"
)

// links are the leaderhook group's raft connections in `demo --ha`: each
// node reaches each other through a proxy of its own (from → to), so that
// a node can be cut off in both directions at once, as a crashed host is,
// before it is stopped.
type links struct {
	all []*link
}

// link forwards TCP connections from one node to another's raft address.
type link struct {
	from, to string
	target   string
	l        net.Listener

	mu    sync.Mutex
	cut   bool
	conns []net.Conn
}

// add starts a link from one node to the other's raft address and returns
// the address that reaches it.
func (ls *links) add(from, to, target string) (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	k := &link{from: from, to: to, target: target, l: l}
	ls.all = append(ls.all, k)
	go k.serve()
	return l.Addr().String(), nil
}

// isolate cuts every link to and from node: open connections close, new
// ones are refused.
func (ls *links) isolate(node string) {
	for _, k := range ls.all {
		if k.from == node || k.to == node {
			k.setCut()
		}
	}
}

func (ls *links) close() {
	for _, k := range ls.all {
		k.l.Close()
		k.setCut()
	}
}

func (k *link) setCut() {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.cut = true
	for _, c := range k.conns {
		c.Close()
	}
	k.conns = nil
}

// track keeps c to close it at a cut; false if the link is already cut.
func (k *link) track(c net.Conn) bool {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.cut {
		return false
	}
	k.conns = append(k.conns, c)
	return true
}

func (k *link) serve() {
	for {
		in, err := k.l.Accept()
		if err != nil {
			return
		}
		if !k.track(in) {
			in.Close()
			continue
		}
		go k.pipe(in)
	}
}

func (k *link) pipe(in net.Conn) {
	defer in.Close()
	out, err := net.Dial("tcp", k.target)
	if err != nil {
		return
	}
	defer out.Close()
	if !k.track(out) {
		return
	}
	done := make(chan struct{}, 2)
	go func() { io.Copy(out, in); done <- struct{}{} }()
	go func() { io.Copy(in, out); done <- struct{}{} }()
	<-done // either side ending ends both
}
