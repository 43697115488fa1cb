// Package ha runs a group of leaderhook nodes as one replicated state
// machine on hashicorp/raft: every input that decisions depend on (members'
// events, time advancing, a delivery's end) goes through the raft log, and
// every node applies the same inputs to the same pipeline. Only the
// group's leader dispatches. The daemon package plugs its pipeline in
// through Machine.
package ha

import (
	"net"
	"strconv"
	"time"

	"github.com/leaderhook/leaderhook/field"
	"github.com/leaderhook/leaderhook/internal/tlsfiles"
)

// DefaultFailOpenAfter is how long a node goes without a group leader
// before it decides and dispatches alone: longer than a few raft elections
// (a leader lost is replaced within seconds), short enough that a page
// still goes out soon when the group itself has lost its majority.
const DefaultFailOpenAfter = 10 * time.Second

// Config is the config's `ha:` block.
type Config struct {
	NodeID string `koanf:"node_id" json:"node_id"`
	// Bind is the raft transport's address; Advertise, if set, the one the
	// other nodes reach it at.
	Bind      string `koanf:"bind" json:"bind"`
	Advertise string `koanf:"advertise" json:"advertise,omitempty"`
	// Peers are every node of the group, this one included.
	Peers         []Peer         `koanf:"peers" json:"peers"`
	DataDir       string         `koanf:"data_dir" json:"data_dir"`
	TLS           TLS            `koanf:"tls" json:"tls,omitempty"`
	FailOpenAfter *time.Duration `koanf:"fail_open_after" json:"fail_open_after,omitempty"`
}

// Peer is one node of the group.
type Peer struct {
	ID      string `koanf:"id" json:"id"`
	Address string `koanf:"address" json:"address"`
}

// TLS, when set, secures the raft transport with mutual TLS: each node
// presents its certificate and accepts only peers whose certificates the
// CA signed, whatever hosts they name.
type TLS struct {
	CertFile string `koanf:"cert_file" json:"cert_file,omitempty"`
	KeyFile  string `koanf:"key_file" json:"key_file,omitempty"`
	CAFile   string `koanf:"ca_file" json:"ca_file,omitempty"`
}

// validate checks the block and loads its files as the transport will,
// so that a missing or broken file fails check at its key; the keys are
// relative to `ha.tls`.
func (t TLS) validate() field.List {
	var errs field.List
	if (t.CertFile == "") != (t.KeyFile == "") || (t.CertFile != "") != (t.CAFile != "") {
		errs.Add("", "set cert_file, key_file and ca_file together (mutual TLS), or none")
		return errs
	}
	for _, fe := range tlsfiles.Check(t.CertFile, t.KeyFile, tlsfiles.CAFile{Key: "ca_file", Path: t.CAFile}) {
		errs.Add(fe.Key, "%v", fe.Err)
	}
	return errs
}

// Enabled reports whether the config has an `ha:` block.
func (c *Config) Enabled() bool { return c != nil && c.NodeID != "" }

// FailOpen returns fail_open_after or its default.
func (c *Config) FailOpen() time.Duration {
	if c.FailOpenAfter == nil {
		return DefaultFailOpenAfter
	}
	return *c.FailOpenAfter
}

// AdvertiseAddr is the address the other nodes reach this one at.
func (c *Config) AdvertiseAddr() string {
	if c.Advertise != "" {
		return c.Advertise
	}
	return c.Bind
}

// Validate checks the block; paths are relative to `ha`.
func (c *Config) Validate() field.List {
	var errs field.List
	if c.NodeID == "" {
		errs.Add("node_id", "is required: this node's id, one of peers[].id")
	}
	checkAddr(&errs, "bind", c.Bind, true)
	checkAddr(&errs, "advertise", c.Advertise, false)
	if c.DataDir == "" {
		errs.Add("data_dir", "is required: where this node keeps its raft log and snapshots")
	}
	c.validatePeers(&errs)
	errs.Prefix("tls", c.TLS.validate())
	if c.FailOpenAfter != nil && *c.FailOpenAfter < 0 {
		errs.Add("fail_open_after", "must not be negative (0 turns fail-open off)")
	}
	return errs
}

func (c *Config) validatePeers(errs *field.List) {
	if len(c.Peers) == 0 {
		errs.Add("peers", "list every node of the group, this one included")
		return
	}
	seen := map[string]bool{}
	self := false
	for i, p := range c.Peers {
		path := "peers[" + strconv.Itoa(i) + "]"
		switch {
		case p.ID == "":
			errs.Add(path+".id", "is required")
		case seen[p.ID]:
			errs.Add(path+".id", "duplicate node id %q", p.ID)
		}
		seen[p.ID] = true
		self = self || p.ID == c.NodeID
		checkAddr(errs, path+".address", p.Address, true)
	}
	if !self && c.NodeID != "" {
		errs.Add("node_id", "%q is not one of peers[].id", c.NodeID)
	}
}

func checkAddr(errs *field.List, path, addr string, required bool) {
	if addr == "" {
		if required {
			errs.Add(path, "is required: host:port")
		}
		return
	}
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		errs.Add(path, "%q is not host:port", addr)
		return
	}
	// As the transport will read it: a port it refuses fails check, not run.
	if _, err := net.LookupPort("tcp", port); err != nil {
		errs.Add(path, "%q: port %q is not a TCP port number or service name", addr, port)
	}
}
