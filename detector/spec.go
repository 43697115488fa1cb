package detector

import "time"

// DefaultStabilize is how long a loss of leader must hold before it is
// announced, unless a cluster sets `stabilize`.
const DefaultStabilize = 2 * time.Second

// Source types.
const (
	SourceEvents = "events"
	SourcePoll   = "poll"
	SourceRaft   = "raft"
)

// Cluster is one entry of the config's `clusters:` list.
type Cluster struct {
	Name      string            `koanf:"name" json:"name"`
	Labels    map[string]string `koanf:"labels" json:"labels,omitempty"`
	Stabilize *time.Duration    `koanf:"stabilize" json:"stabilize,omitempty"`
	// SplitBrainAfter: how long more than one leader must be claimed
	// before state.split_brain is announced.
	SplitBrainAfter *time.Duration `koanf:"split_brain_after" json:"split_brain_after,omitempty"`
	// Members, when set, fixes the cluster's membership (and so its quorum
	// size) instead of learning it from the events.
	Members []string `koanf:"members" json:"members,omitempty"`
	Source  Source   `koanf:"source" json:"source"`
}

// StabilizePeriod returns the configured stabilization period or the default.
func (c *Cluster) StabilizePeriod() time.Duration {
	if c.Stabilize == nil {
		return DefaultStabilize
	}
	return *c.Stabilize
}

// SplitBrainPeriod returns split_brain_after or its default.
func (c *Cluster) SplitBrainPeriod() time.Duration {
	if c.SplitBrainAfter == nil {
		return DefaultSplitBrainAfter
	}
	return *c.SplitBrainAfter
}

// Source says where a cluster's leader state comes from. Which keys apply
// depends on Type.
type Source struct {
	Type string `koanf:"type" json:"type"`

	// events
	File  string `koanf:"file" json:"file,omitempty"`
	HTTP  bool   `koanf:"http" json:"http,omitempty"`
	Stdin bool   `koanf:"stdin" json:"stdin,omitempty"`

	// poll
	Preset   string        `koanf:"preset" json:"preset,omitempty"`
	Members  []string      `koanf:"members" json:"members,omitempty"`
	Interval time.Duration `koanf:"interval" json:"interval,omitempty"`
	Timeout  time.Duration `koanf:"timeout" json:"timeout,omitempty"`
	Grace    time.Duration `koanf:"grace" json:"grace,omitempty"`
	Path     string        `koanf:"path" json:"path,omitempty"`
	Method   string        `koanf:"method" json:"method,omitempty"`
	Body     string        `koanf:"body" json:"body,omitempty"`
	Leader   string        `koanf:"leader" json:"leader,omitempty"`
	Self     string        `koanf:"self" json:"self,omitempty"`
	// TLS: the CA to verify members with, a client certificate for
	// mutual TLS, and the name to verify when the URLs do not say it.
	CAFile     string `koanf:"ca_file" json:"ca_file,omitempty"`
	CertFile   string `koanf:"cert_file" json:"cert_file,omitempty"`
	KeyFile    string `koanf:"key_file" json:"key_file,omitempty"`
	ServerName string `koanf:"server_name" json:"server_name,omitempty"`
	// Credentials: a login (etcd, openziti) or an ACL token (consul,
	// nomad, vault). Secrets are never written out, in JSON or in errors.
	Username string `koanf:"username" json:"username,omitempty"`
	Password string `koanf:"password" json:"-"`
	Token    string `koanf:"token" json:"-"`
}
