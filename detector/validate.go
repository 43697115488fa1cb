package detector

import (
	"errors"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/leaderhook/leaderhook/field"
	"github.com/leaderhook/leaderhook/internal/tlsfiles"
)

var clusterName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]*$`)

// Presets of the poll source.
var Presets = []string{"etcd", "rqlite", "consul", "nomad", "vault", "openziti", "generic"}

// presetKeys lists the poll keys that only some presets take, and which.
var presetKeys = map[string][]string{
	"path": {"generic"}, "method": {"generic"}, "body": {"generic"}, "leader": {"generic"}, "self": {"generic"},
	"username": {"etcd", "openziti"}, "password": {"etcd", "openziti"},
	"token": {"consul", "nomad", "vault"},
}

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
	if c.SplitBrainAfter != nil && *c.SplitBrainAfter <= 0 {
		errs.Add("split_brain_after", "must be positive")
	}
	errs = append(errs, uniqueMembers(c.Members, func(m string) string { return m }, func(m string) string { return m })...)
	errs.Prefix("source", c.Source.Validate())
	return errs
}

// uniqueMembers reports each member that is empty, or that repeats an
// earlier one, members being the same when same returns the same for
// both; show is how a member is shown. A fixed membership is the
// cluster's quorum, kept by name: a repeated name would count once there.
func uniqueMembers(members []string, same, show func(string) string) field.List {
	var errs field.List
	first := map[string]int{}
	for i, m := range members {
		key := "members[" + strconv.Itoa(i) + "]"
		if m == "" {
			errs.Add(key, "is required")
			continue
		}
		if j, ok := first[same(m)]; ok {
			errs.Add(key, "duplicate member %q (also members[%d])", show(m), j)
			continue
		}
		first[same(m)] = i
	}
	return errs
}

// keySet is a source key and whether the source sets it.
type keySet struct {
	key string
	set bool
}

func (s *Source) pollKeys() []keySet {
	return []keySet{{"preset", s.Preset != ""}, {"members", len(s.Members) > 0}, {"interval", s.Interval != 0},
		{"timeout", s.Timeout != 0}, {"grace", s.Grace != 0}, {"path", s.Path != ""}, {"method", s.Method != ""}, {"body", s.Body != ""},
		{"leader", s.Leader != ""}, {"self", s.Self != ""}, {"ca_file", s.CAFile != ""}, {"cert_file", s.CertFile != ""},
		{"key_file", s.KeyFile != ""}, {"server_name", s.ServerName != ""}, {"username", s.Username != ""},
		{"password", s.Password != ""}, {"token", s.Token != ""}}
}

func (s *Source) eventKeys() []keySet {
	return []keySet{{"file", s.File != ""}, {"http", s.HTTP}, {"stdin", s.Stdin}}
}

// Validate checks a source. Paths are relative to the source.
func (s *Source) Validate() field.List {
	var errs field.List
	notFor := func(keys []keySet) {
		for _, k := range keys {
			if k.set {
				errs.Add(k.key, "does not apply to a %s source", s.Type)
			}
		}
	}
	switch s.Type {
	case "":
		errs.Add("type", "is required: events, poll or raft")
	case SourceEvents:
		notFor(s.pollKeys())
		if s.File == "" && !s.HTTP && !s.Stdin {
			errs.Add("", "an events source needs at least one of file, http or stdin")
		}
	case SourcePoll:
		notFor(s.eventKeys())
		errs = append(errs, s.validatePoll()...)
	case SourceRaft:
		notFor(s.eventKeys())
		notFor(s.pollKeys())
	default:
		errs.Add("type", "unknown source type %q: events, poll or raft", s.Type)
	}
	return errs
}

// validatePoll checks the keys of a poll source.
func (s *Source) validatePoll() field.List {
	var errs field.List
	if s.Preset == "" {
		errs.Add("preset", "is required: one of %v", Presets)
	} else if !slices.Contains(Presets, s.Preset) {
		errs.Add("preset", "unknown preset %q: one of %v", s.Preset, Presets)
	}
	errs = append(errs, s.validateMembers()...)
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
		if _, err := compileID(s.Leader); err != nil {
			errs.Add("leader", "leader expression: %v", err)
		}
		if s.Self != "" {
			if _, err := compileID(s.Self); err != nil {
				errs.Add("self", "self expression: %v", err)
			}
		}
		if _, err := url.Parse(s.Path); err != nil {
			errs.Add("path", "%q is not a URL path: %v", s.Path, errors.Unwrap(err))
		}
	}
	errs = append(errs, s.validatePresetKeys()...)
	errs = append(errs, s.validateLogin()...)
	return append(errs, s.validateTLS()...)
}

// validateMembers checks the status URLs of a poll source's members,
// showing them as MemberName does: with the password hidden.
func (s *Source) validateMembers() field.List {
	var errs field.List
	if len(s.Members) == 0 {
		errs.Add("members", "list the status URL of every member")
	}
	// A base URL is joined to paths without its trailing slashes.
	baseURL := func(m string) string { return strings.TrimRight(m, "/") }
	errs = append(errs, uniqueMembers(s.Members, baseURL, MemberName)...)
	for i, m := range s.Members {
		key := "members[" + strconv.Itoa(i) + "]"
		u, err := url.Parse(m)
		switch {
		case m == "": // reported by uniqueMembers
		case strings.Contains(m, "@") && err != nil:
			// A '/', '?' or '#' in a password ends the host early.
			errs.Add(key, "%q is not an http(s) URL with a user and password: "+percentEncodeAdvice, MemberName(m))
		case err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "":
			errs.Add(key, "%q is not an http(s) URL", MemberName(m))
		}
	}
	return errs
}

// percentEncodeAdvice is how to write a member URL whose '@' url.Parse
// does not read as the end of user info.
const percentEncodeAdvice = "percent-encode a '/', '?' or '#' in the password (%%2F, %%3F, %%23), and an '@' after the host (%%40)"

// Warnings returns what is worth a word in a valid cluster entry. Paths
// are relative to the entry.
func (c *Cluster) Warnings() field.List {
	var warnings field.List
	warnings.Prefix("source", c.Source.Warnings())
	return warnings
}

// Warnings returns what is worth a word in a valid source: a poll
// member's URL that parses with an '@' outside any user info. It may be
// a query or a path holding an '@', or a password holding a '/' that
// ended the host early (http://root:1234/pa@db1 is host root:1234), which
// cannot be told apart: it is polled as parsed, and named as MemberName
// does, with the password it may hold hidden.
func (s *Source) Warnings() field.List {
	var warnings field.List
	if s.Type != SourcePoll {
		return nil
	}
	for i, m := range s.Members {
		if u, err := url.Parse(m); err == nil && u.User == nil && strings.Contains(m, "@") {
			// The host is not shown: it may be the start of a password.
			warnings.Add("members["+strconv.Itoa(i)+"]", "%q has an '@' that url.Parse does not read as the end of "+
				"a user and password (a '/', '?' or '#' in a password ends the host early): it is polled as it parses; "+
				percentEncodeAdvice, MemberName(m))
		}
	}
	return warnings
}

// validatePresetKeys refuses the keys that the preset does not take.
func (s *Source) validatePresetKeys() field.List {
	var errs field.List
	if !slices.Contains(Presets, s.Preset) {
		return nil // said already
	}
	for _, k := range s.pollKeys() {
		presets, some := presetKeys[k.key]
		if k.set && some && !slices.Contains(presets, s.Preset) {
			errs.Add(k.key, "does not apply to the %s preset: only to %s", s.Preset, orList(presets))
		}
	}
	return errs
}

// validateLogin checks that a login has both its halves.
func (s *Source) validateLogin() field.List {
	var errs field.List
	switch {
	case s.Preset == "openziti" && s.Username == "" && s.Password == "":
		errs.Add("username", "the openziti preset logs in: set username and password (use ${ENV} for the password)")
	case s.Preset != "etcd" && s.Preset != "openziti":
	case s.Username != "" && s.Password == "":
		errs.Add("username", "needs a password too (use ${ENV} for it)")
	case s.Username == "" && s.Password != "":
		errs.Add("password", "needs a username too")
	}
	return errs
}

// validateTLS loads the TLS files as the daemon will, so that a missing or
// broken file is reported at load, at its key.
func (s *Source) validateTLS() field.List {
	var errs field.List
	for _, fe := range tlsfiles.Check(s.CertFile, s.KeyFile, tlsfiles.CAFile{Key: "ca_file", Path: s.CAFile}) {
		errs.Add(fe.Key, "%v", fe.Err)
	}
	if (s.CertFile == "") != (s.KeyFile == "") {
		return errs // half a pair: the missing half is what to fix first
	}
	for _, k := range []keySet{{"ca_file", s.CAFile != ""}, {"cert_file", s.CertFile != ""}, {"server_name", s.ServerName != ""}} {
		if k.set && len(s.Members) > 0 && !slices.ContainsFunc(s.Members, isHTTPS) {
			errs.Add(k.key, "applies to https members, and every member is http: the polls would go unencrypted")
			break
		}
	}
	return errs
}

func isHTTPS(member string) bool { return strings.HasPrefix(strings.ToLower(member), "https://") }

// orList writes a, b or c.
func orList(items []string) string {
	if len(items) < 2 {
		return strings.Join(items, "")
	}
	return strings.Join(items[:len(items)-1], ", ") + " or " + items[len(items)-1]
}
