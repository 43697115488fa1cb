package detector

import (
	"net/url"
	"regexp"
	"strconv"

	"github.com/leaderhook/leaderhook/field"
)

var clusterName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]*$`)

// Presets of the poll source.
var Presets = []string{"etcd", "rqlite", "consul", "nomad", "vault", "openziti", "generic"}

// Validate checks one cluster entry. Paths are relative to the entry.
func (c *Cluster) Validate() field.List {
	var errs field.List
	switch {
	case c.Name == "":
		errs.Add("name", "is required")
	case !clusterName.MatchString(c.Name):
		errs.Add("name", "%q: use letters, digits, '.', '_' and '-' (it appears in URLs and metrics)", c.Name)
	}
	if c.Stabilize != nil && *c.Stabilize < 0 {
		errs.Add("stabilize", "must not be negative")
	}
	errs.Prefix("source", c.Source.Validate())
	return errs
}

// Validate checks a source. Paths are relative to the source.
func (s *Source) Validate() field.List {
	var errs field.List
	notFor := func(key string, set bool) {
		if set {
			errs.Add(key, "does not apply to a %s source", s.Type)
		}
	}
	pollKeys := func() {
		notFor("preset", s.Preset != "")
		notFor("members", len(s.Members) > 0)
		notFor("interval", s.Interval != 0)
		notFor("timeout", s.Timeout != 0)
		notFor("grace", s.Grace != 0)
		notFor("path", s.Path != "")
		notFor("method", s.Method != "")
		notFor("body", s.Body != "")
		notFor("leader", s.Leader != "")
		notFor("ca_file", s.CAFile != "")
		notFor("username", s.Username != "")
		notFor("password", s.Password != "")
	}
	eventKeys := func() {
		notFor("file", s.File != "")
		notFor("http", s.HTTP)
		notFor("stdin", s.Stdin)
	}
	switch s.Type {
	case "":
		errs.Add("type", "is required: events, poll or raft")
	case SourceEvents:
		pollKeys()
		if s.File == "" && !s.HTTP && !s.Stdin {
			errs.Add("", "an events source needs at least one of file, http or stdin")
		}
	case SourcePoll:
		eventKeys()
		if s.Preset == "" {
			errs.Add("preset", "is required: one of %v", Presets)
		} else if !contains(Presets, s.Preset) {
			errs.Add("preset", "unknown preset %q: one of %v", s.Preset, Presets)
		}
		if len(s.Members) == 0 {
			errs.Add("members", "list the status URL of every member")
		}
		for i, m := range s.Members {
			u, err := url.Parse(m)
			if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
				errs.Add("members["+strconv.Itoa(i)+"]", "%q is not an http(s) URL", m)
			}
		}
		if s.Interval < 0 {
			errs.Add("interval", "must not be negative")
		}
		if s.Timeout < 0 {
			errs.Add("timeout", "must not be negative")
		}
		if s.Grace < 0 {
			errs.Add("grace", "must not be negative")
		}
		if s.Preset == "generic" && s.Leader == "" {
			errs.Add("leader", "the generic preset needs an expression that yields the leader id")
		} else if s.Preset == "generic" {
			if _, err := NewGeneric(s.Method, s.Path, s.Body, s.Leader); err != nil {
				errs.Add("leader", "%v", err)
			}
		}
		if s.Preset != "generic" {
			for key, set := range map[string]bool{"path": s.Path != "", "method": s.Method != "", "body": s.Body != "", "leader": s.Leader != ""} {
				if set {
					errs.Add(key, "applies only to the generic preset")
				}
			}
		}
		if s.Preset != "openziti" && (s.Username != "" || s.Password != "") {
			errs.Add("username", "applies only to the openziti preset")
		}
	case SourceRaft:
		eventKeys()
		pollKeys()
	default:
		errs.Add("type", "unknown source type %q: events, poll or raft", s.Type)
	}
	return errs
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
