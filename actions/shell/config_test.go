package shell

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/leaderhook/leaderhook/actions"
)

// shellSpec is a valid shell action to break one key at a time.
func shellSpec(edit func(*Config)) actions.Spec {
	c := Config{Command: []string{"/usr/local/bin/failover.sh", "{{ .Cluster }}"}}
	edit(&c)
	return actions.Spec{Type: Name, Config: c}
}

func TestValidateAccepts(t *testing.T) {
	specs := map[string]actions.Spec{
		"every key": shellSpec(func(c *Config) {
			c.Command = []string{"failover.sh", "--cluster={{ .Cluster }}", "{{ .PreviousLeaderID }}"}
			c.Env = map[string]string{"MODE": "{{ .Status }}", "_TEAM": "{{ .Labels.team }}"}
			c.Dir = "/var/lib/leaderhook"
			c.Concurrency = 4
			c.KillGrace = time.Second
		}),
		"program relative to dir":       shellSpec(func(c *Config) { c.Command = []string{"./failover.sh"}; c.Dir = "/opt/hooks" }),
		"absolute program with a space": shellSpec(func(c *Config) { c.Command = []string{"/opt/My Scripts/page.sh"} }),
	}
	for name, s := range specs {
		if errs := s.Validate(); len(errs) > 0 {
			t.Errorf("%s: %v", name, errs)
		}
	}
}

func TestValidateRejects(t *testing.T) {
	cases := []struct {
		name string
		spec actions.Spec
		want []string // "path@offset: message"
	}{
		{"no command", shellSpec(func(c *Config) { c.Command = nil }), []string{
			`command@-1: is required: the program and its arguments, e.g. [/usr/local/bin/failover.sh, "{{ .Cluster }}"]`}},
		{"empty program", shellSpec(func(c *Config) { c.Command = []string{""} }), []string{
			"command[0]@-1: the program is empty"}},
		{"program as template", shellSpec(func(c *Config) { c.Command = []string{"{{ .Rule }}"} }), []string{
			"command[0]@-1: the program must be a fixed path or name, not a template"}},
		{"relative program", shellSpec(func(c *Config) { c.Command = []string{"scripts/failover.sh"} }), []string{
			"command[0]@-1: is a relative path but dir is not set: use an absolute path, a bare name to look up in PATH, or set dir"}},
		{"command line as program", shellSpec(func(c *Config) { c.Command = []string{"failover.sh --force"} }), []string{
			"command[0]@-1: looks like a command line: list the program and each argument as separate items"}},
		{"argument template", shellSpec(func(c *Config) { c.Command = []string{"echo", "ok", "--id={{ .LeaderId }}"} }), []string{
			"command[2]@8: template: unknown field .LeaderId: did you mean .LeaderID?"}},
		{"env", shellSpec(func(c *Config) {
			c.Env = map[string]string{"LEADERHOOK_X": "a", "1BAD": "b", "OK": "{{ end }}"}
		}), []string{
			`env.1BAD@-1: "1BAD" is not an environment variable name (letters, digits and _, not starting with a digit)`,
			"env.LEADERHOOK_X@-1: LEADERHOOK_ variables are reserved: leaderhook sets them itself",
			"env.OK@0: template: unexpected {{end}}"}},
		{"negative concurrency and grace", shellSpec(func(c *Config) { c.Concurrency = -1; c.KillGrace = -time.Second }), []string{
			"concurrency@-1: must not be negative",
			"kill_grace@-1: must not be negative"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var got []string
			for _, e := range tc.spec.Validate() {
				got = append(got, e.Path+"@"+strconv.Itoa(e.Offset)+": "+e.Msg)
			}
			if strings.Join(got, "\n") != strings.Join(tc.want, "\n") {
				t.Errorf("\n got: %s\nwant: %s", strings.Join(got, "\n      "), strings.Join(tc.want, "\n      "))
			}
		})
	}
}

func TestDefaults(t *testing.T) {
	got := actions.Spec{Config: Config{}, Timeout: 2 * time.Minute}.Defaults(Kind.Delivery)
	c := got.Config.(Config)
	if got.Timeout != 2*time.Minute || got.Retry != (actions.Retry{MaxAttempts: 1, InitialBackoff: time.Second, MaxBackoff: time.Minute}) ||
		c.Concurrency != 1 || c.KillGrace != 5*time.Second {
		t.Errorf("got %+v", got)
	}
	if d := (actions.Spec{Config: Config{}}).Defaults(Kind.Delivery); d.Timeout != time.Minute {
		t.Errorf("timeout %s, want 1m", d.Timeout)
	}
}
