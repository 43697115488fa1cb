package config

import (
	"context"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/leaderhook/leaderhook/actions"
	"github.com/leaderhook/leaderhook/actions/shell"
	"github.com/leaderhook/leaderhook/actions/slack"
	"github.com/leaderhook/leaderhook/actions/webhook"
	"github.com/leaderhook/leaderhook/field"
	"github.com/leaderhook/leaderhook/internal/testpki"
	"github.com/leaderhook/leaderhook/rules"
)

var update = flag.Bool("update", false, "rewrite the golden files")

func envOf(m map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
}

var testEnv = map[string]string{
	"LEADERHOOK_TOKEN":  "tok",
	"PAGE_SECRET":       "whsec_c2VjcmV0",
	"SLACK_WEBHOOK_URL": "https://hooks.slack.example/services/T/B/X",
	"PAGER_URL":         "https://pager.example/x",
}

// TestGolden loads each broken config in testdata and compares the error
// list with its .golden file (go test ./config -update rewrites them).
func TestGolden(t *testing.T) {
	files, _ := filepath.Glob("testdata/*.yaml")
	for _, path := range files {
		name := filepath.Base(path)
		if name == "valid.yaml" {
			continue
		}
		t.Run(name, func(t *testing.T) {
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			_, _, err = Parse(name, data, envOf(testEnv))
			var list *Errors
			if !errors.As(err, &list) {
				t.Fatalf("Parse(%s) = %v, want *Errors", name, err)
			}
			got := list.Error() + "\n"
			golden := strings.TrimSuffix(path, ".yaml") + ".golden"
			if *update {
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatal(err)
			}
			if got != string(want) {
				t.Errorf("errors of %s\n got:\n%s\nwant:\n%s", name, got, want)
			}
		})
	}
}

func TestValidConfig(t *testing.T) {
	data, err := os.ReadFile("testdata/valid.yaml")
	if err != nil {
		t.Fatal(err)
	}
	cfg, res, err := Parse("valid.yaml", data, envOf(testEnv))
	if err != nil {
		t.Fatal(err)
	}
	// The one warning: the failover script is not installed on this machine.
	if len(res.Warnings) != 1 || res.Warnings[0].String() != "valid.yaml:24:37: actions.failover.command[0]: /usr/local/bin/failover.sh does not exist (yet?)" {
		t.Errorf("warnings: %v", res.Warnings)
	}
	checks := []struct {
		name string
		ok   bool
	}{
		{"listen", cfg.Server.Listen == "127.0.0.1:9464"},
		{"token expanded", cfg.Server.IngestToken == "tok"},
		{"state and audit", cfg.StateDir == "./leaderhook-state" && cfg.AuditLog == "./leaderhook-audit.jsonl"},
		{"stabilize", cfg.Clusters[0].Stabilize != nil && *cfg.Clusters[0].Stabilize == 2*time.Second},
		{"default stabilize", cfg.Clusters[1].Stabilize == nil && cfg.Clusters[1].StabilizePeriod() == 2*time.Second},
		{"labels", cfg.Clusters[0].Labels["env"] == "prod"},
		{"events source", cfg.Clusters[0].Source.File == "/var/lib/ziti/events.jsonl" && cfg.Clusters[0].Source.HTTP && !cfg.Clusters[0].Source.Stdin},
		{"poll members", len(cfg.Clusters[1].Source.Members) == 3 && cfg.Clusters[1].Source.Members[2] == "http://127.0.0.1:32379" && cfg.Clusters[1].Source.Interval == time.Second},
		{"secret", webhookOf(cfg.Actions["page"]).Secret == "whsec_c2VjcmV0"},
		{"timeout", cfg.Actions["page"].Timeout == 5*time.Second && cfg.Actions["failover"].Timeout == 2*time.Minute},
		{"retry", cfg.Actions["page"].Retry == actions.Retry{MaxAttempts: 6, InitialBackoff: time.Second, MaxBackoff: time.Minute}},
		{"template kept", shellOf(cfg.Actions["failover"]).Command[1] == "{{ .Cluster }}"},
		{"slack", slackOf(cfg.Actions["chat"]).WebhookURL == testEnv["SLACK_WEBHOOK_URL"] && slackOf(cfg.Actions["chat"]).Channel == "#ops"},
		{"window", cfg.Windows["sunday-maintenance"] == rules.Window{Schedule: "0 2 * * SUN", Duration: 2 * time.Hour}},
		{"rules", len(cfg.Rules) == 4 && cfg.Rules[0].Cooldown == 10*time.Minute && cfg.Rules[3].Schedule == "0 9 * * *"},
		{"rule lists", slices.Equal(cfg.Rules[0].Actions, []string{"chat", "page"}) && slices.Equal(cfg.Rules[0].OnResolve, []string{"chat"}) && slices.Equal(cfg.Rules[0].Mute, []string{"sunday-maintenance"})},
		{"quoted when", cfg.Rules[3].When == "true"},
		{"location", cfg.Location() == time.UTC},
	}
	for _, c := range checks {
		if !c.ok {
			t.Errorf("%s: wrong value in %+v", c.name, cfg)
		}
	}
}

// base is a small valid config for the tests that change one thing.
const base = `clusters:
  - name: z
    stabilize: 1s
    source: {type: events, stdin: true}
actions:
  page: {type: webhook, url: "${URL:-http://127.0.0.1:9/default}", body: "$${literal} $$ and $HOME"}
rules:
  - {name: r, when: leaderless, actions: [page]}
`

func TestEnvironment(t *testing.T) {
	cases := []struct {
		name  string
		yaml  string // added to base
		env   map[string]string
		check func(*Config) bool
		err   string
	}{
		{name: "default used", env: map[string]string{}, check: func(c *Config) bool {
			return webhookOf(c.Actions["page"]).URL == "http://127.0.0.1:9/default" && webhookOf(c.Actions["page"]).Body == "${literal} $$ and $HOME"
		}},
		{name: "empty value takes the default", env: map[string]string{"URL": ""}, check: func(c *Config) bool { return webhookOf(c.Actions["page"]).URL == "http://127.0.0.1:9/default" }},
		{name: "value used", env: map[string]string{"URL": "https://x.example/y"}, check: func(c *Config) bool { return webhookOf(c.Actions["page"]).URL == "https://x.example/y" }},
		{name: "a value is not YAML", yaml: "server:\n  ingest_token: ${TOKEN}\n", env: map[string]string{"TOKEN": "a: b\n- [c]"},
			check: func(c *Config) bool { return c.Server.IngestToken == "a: b\n- [c]" }},
		{name: "a value is not expanded again", yaml: "server:\n  ingest_token: ${TOKEN}\n", env: map[string]string{"TOKEN": "${HOME}$${x}"},
			check: func(c *Config) bool { return c.Server.IngestToken == "${HOME}$${x}" }},
		{name: "a digit-only secret stays a string", yaml: "server:\n  ingest_token: ${TOKEN}\n", env: map[string]string{"TOKEN": "0123"},
			check: func(c *Config) bool { return c.Server.IngestToken == "0123" }},
		{name: "an expanded plain scalar may be an integer", yaml: "server:\n  max_body_bytes: ${MAX:-4096}\n",
			check: func(c *Config) bool { return c.Server.MaxBodyBytes == 4096 }},
		{name: "but not a word", yaml: "server:\n  max_body_bytes: ${MAX}\n", env: map[string]string{"MAX": "lots"},
			err: `x.yaml:10:19: server.max_body_bytes: want an integer, got string "lots"`},
		{name: "flight recorder default", check: func(c *Config) bool { return c.FlightRecorder() == DefaultFlightRecorderBytes }},
		{name: "flight recorder off", yaml: "flight_recorder_bytes: 0\n", check: func(c *Config) bool { return c.FlightRecorder() == 0 }},
		{name: "flight recorder bound", yaml: "flight_recorder_bytes: 1000\n", check: func(c *Config) bool { return c.FlightRecorder() == 1000 }},
		{name: "flight recorder negative", yaml: "flight_recorder_bytes: -1\n",
			err: `x.yaml:9:24: flight_recorder_bytes: must not be negative (0 turns the flight recorder off)`},
		{name: "keys are not expanded", yaml: "server:\n  ${KEY}: x\n", env: map[string]string{"KEY": "listen"},
			err: `x.yaml:10:3: server.${KEY}: unknown key "${KEY}" (valid: listen, ingest_token, max_body_bytes, external_url, tls)`},
		{name: "unset", yaml: "state_dir: /var/${NOPE}/x\n",
			err: `x.yaml:9:12: state_dir: environment variable NOPE is not set (use ${NOPE:-default} for a default)`},
		{name: "unclosed", yaml: "state_dir: ${NOPE\n",
			err: `x.yaml:9:12: state_dir: unclosed ${ in "${NOPE" (write $${ for a literal ${)`},
		{name: "not a name", yaml: "state_dir: ${1X}\n",
			err: `x.yaml:9:12: state_dir: ${1X}: "1X" is not an environment variable name`},
		{name: "override listen and state_dir", env: map[string]string{"LEADERHOOK_SERVER__LISTEN": "0.0.0.0:1234", "LEADERHOOK_STATE_DIR": "/var/lib/lh"},
			check: func(c *Config) bool { return c.Server.Listen == "0.0.0.0:1234" && c.StateDir == "/var/lib/lh" }},
		{name: "override beats the file", yaml: "server: {listen: 127.0.0.1:1, max_body_bytes: 10}\ntimezone: UTC\n",
			env: map[string]string{"LEADERHOOK_SERVER__LISTEN": "[::1]:2", "LEADERHOOK_SERVER__MAX_BODY_BYTES": "20", "LEADERHOOK_TIMEZONE": "Europe/Berlin"},
			check: func(c *Config) bool {
				return c.Server.Listen == "[::1]:2" && c.Server.MaxBodyBytes == 20 && c.Location().String() == "Europe/Berlin"
			}},
		{name: "override the optional top-level keys", yaml: "flight_recorder_bytes: 1000\nmax_clock_skew: 5s\nhistory: {max_age: 1h}\n",
			env: map[string]string{"LEADERHOOK_FLIGHT_RECORDER_BYTES": "0", "LEADERHOOK_MAX_CLOCK_SKEW": "30s", "LEADERHOOK_HISTORY__MAX_AGE": "2h"},
			check: func(c *Config) bool {
				age, _ := c.History.Bounds()
				return c.FlightRecorder() == 0 && c.ClockSkew() == 30*time.Second && age == 2*time.Hour
			}},
		{name: "override an optional key unset in the file", env: map[string]string{"LEADERHOOK_FLIGHT_RECORDER_BYTES": "1000"},
			check: func(c *Config) bool { return c.FlightRecorder() == 1000 }},
		{name: "override an optional key with a bad value", env: map[string]string{"LEADERHOOK_MAX_CLOCK_SKEW": "-1s"},
			err: `x.yaml: max_clock_skew: must be positive, e.g. 5s (set by LEADERHOOK_MAX_CLOCK_SKEW)`},
		{name: "other LEADERHOOK_ variables are not keys", env: map[string]string{"LEADERHOOK_TOKEN": "t", "LEADERHOOK_CLUSTERS": "x", "LEADERHOOK_SERVER": "x", "LEADERHOOK_RULES__0__NAME": "x"},
			check: func(c *Config) bool { return len(c.Clusters) == 1 && c.Rules[0].Name == "r" }},
		{name: "override with a bad int", env: map[string]string{"LEADERHOOK_SERVER__MAX_BODY_BYTES": "big"},
			err: `x.yaml: server.max_body_bytes: from LEADERHOOK_SERVER__MAX_BODY_BYTES: want an integer, got "big"`},
		{name: "an overridden value is reported as the variable's", yaml: "server: {listen: 127.0.0.1:1}\n", env: map[string]string{"LEADERHOOK_SERVER__LISTEN": "nowhere"},
			err: `x.yaml: server.listen: "nowhere" is not host:port, e.g. 127.0.0.1:9464 (set by LEADERHOOK_SERVER__LISTEN)`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg, _, err := Parse("x.yaml", []byte(base+tc.yaml), envOf(tc.env))
			if tc.err != "" {
				if err == nil || err.Error() != tc.err {
					t.Fatalf("error:\n%v\nwant:\n%s", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !tc.check(cfg) {
				t.Errorf("unexpected config %+v", cfg)
			}
		})
	}
}

func TestConvert(t *testing.T) {
	cases := []struct {
		raw  string
		typ  any
		want any
		err  string
	}{
		{"x", "", "x", ""},
		{"12", 0, 12, ""},
		{"1.5", 0, nil, `want an integer, got "1.5"`},
		{"true", false, true, ""},
		{"yes", false, nil, `want true or false, got "yes"`},
		{"90s", time.Duration(0), "90s", ""},
		{"90", time.Duration(0), nil, `want a duration such as 30s, got "90"`},
	}
	for _, tc := range cases {
		got, err := convert(tc.raw, reflect.TypeOf(tc.typ))
		if (err != nil || tc.err != "") && (err == nil || err.Error() != tc.err) {
			t.Errorf("convert(%q, %T): error %v, want %q", tc.raw, tc.typ, err, tc.err)
		}
		if got != tc.want {
			t.Errorf("convert(%q, %T) = %v, want %v", tc.raw, tc.typ, got, tc.want)
		}
	}
}

func TestStabilize(t *testing.T) {
	cases := []struct {
		value string
		want  *time.Duration // nil: not set, the default applies
	}{
		{"0s", new(time.Duration(0))},
		{"1m30s", new(90 * time.Second)},
		{"", nil},
		{"~", nil},
	}
	for _, tc := range cases {
		src := "clusters:\n  - name: z\n    stabilize: " + tc.value + "\n    source: {type: events, stdin: true}\nrules: []\n"
		cfg, _, err := Parse("s.yaml", []byte(src), envOf(nil))
		if err != nil {
			t.Fatalf("stabilize %q: %v", tc.value, err)
		}
		got := cfg.Clusters[0].Stabilize
		if (got == nil) != (tc.want == nil) || (got != nil && *got != *tc.want) {
			t.Errorf("stabilize %q: got %v, want %v", tc.value, got, tc.want)
		}
	}
	if _, _, err := Parse("s.yaml", []byte("clusters:\n  - name: z\n    stabilize: 0\n    source: {type: events, stdin: true}\nrules: []\n"), envOf(nil)); err == nil ||
		err.Error() != `s.yaml:3:16: clusters[0].stabilize: want a duration such as 30s, 5m or 1h30m, got integer "0"` {
		t.Errorf("stabilize 0 (no unit): %v", err)
	}
}

func TestAliasesAndMerges(t *testing.T) {
	src := `clusters:
  - name: a
    source: &events {type: events, stdin: true}
  - name: b
    source: {<<: *events, stdin: false, http: true}
actions:
  page: &hook {type: webhook, url: "http://127.0.0.1:9/x", retry: {max_attempts: 3}}
  page2: {<<: [*hook, {timeout: 3s, url: "http://ignored/"}], url: "http://127.0.0.1:9/y"}
rules:
  - {name: r, when: leaderless, actions: &both [page, page2]}
  - {name: s, when: leaderless, actions: *both}
`
	cfg, _, err := Parse("m.yaml", []byte(src), envOf(nil))
	if err != nil {
		t.Fatal(err)
	}
	if s := cfg.Clusters[1].Source; s.Type != "events" || s.Stdin || !s.HTTP {
		t.Errorf("merged source: %+v", s)
	}
	if p := cfg.Actions["page2"]; webhookOf(p).URL != "http://127.0.0.1:9/y" || p.Retry.MaxAttempts != 3 || p.Timeout != 3*time.Second {
		t.Errorf("merged action: %+v", p)
	}
	if !slices.Equal(cfg.Rules[1].Actions, []string{"page", "page2"}) {
		t.Errorf("aliased list: %v", cfg.Rules[1].Actions)
	}

	// Errors inside merged or aliased values are found, at the anchor.
	_, _, err = Parse("m.yaml", []byte("clusters:\n  - name: a\n    source: &s {type: events, stdin: maybe}\n  - name: b\n    source: {<<: *s}\nrules: []\n"), envOf(nil))
	want := "m.yaml:3:38: clusters[0].source.stdin: want true or false, got string \"maybe\"\n" +
		"m.yaml:3:38: clusters[1].source.stdin: want true or false, got string \"maybe\""
	if err == nil || err.Error() != want {
		t.Errorf("merged error:\n%v\nwant:\n%s", err, want)
	}
}

// A file of a few kilobytes can stand for a huge tree through aliases.
func TestAliasBomb(t *testing.T) {
	var b strings.Builder
	b.WriteString("clusters: [{name: z, source: {type: events, stdin: true}}]\nrules:\n  - {name: r0, when: leaderless, actions: &a [")
	for i := range 1100 {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString("x")
	}
	b.WriteString("]}\n")
	for i := 1; i < 1000; i++ {
		fmt.Fprintf(&b, "  - {name: r%d, when: leaderless, actions: *a}\n", i)
	}
	start := time.Now()
	_, _, err := Parse("bomb.yaml", []byte(b.String()), envOf(nil))
	if err == nil || !strings.Contains(err.Error(), "the config expands to more than") || strings.Count(err.Error(), "\n") != 0 {
		t.Errorf("err = %.300v", err)
	}
	// A walk that stopped short has not read the server block either.
	if _, err := ParseServer("bomb.yaml", []byte(b.String()), envOf(nil)); err == nil || !strings.Contains(err.Error(), "the config expands to more than") {
		t.Errorf("ParseServer: err = %.300v", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("took %v", d)
	}
}

func TestSyntaxErrorLines(t *testing.T) {
	// yaml.v3 reports a 0-based line for parser errors and a 1-based one for
	// scanner errors; the diagnostics must name the real line.
	cases := []struct{ src, want string }{
		{"a: 1\nb:\n  c: {x: 1, y: 2\nd: 1\n", "y.yaml:3: did not find expected ',' or '}'"},
		{"a: 1\nb:\n  - x\n  y: 2\n", "y.yaml:3: did not find expected '-' indicator"},
		{"a: 1\nb: [1, 2\nc: 3\n", "y.yaml:2: did not find expected ',' or ']'"},
		{"a: 1\n- b\n", "y.yaml:2: did not find expected key"},
		{"a: [1,2}\n", "y.yaml:1: did not find expected ',' or ']'"},
		{"a: 1\nb: c: d\n", "y.yaml:2: mapping values are not allowed in this context"},
		{"a: 1\nb: @x\n", "y.yaml:2: found character that cannot start any token"},
		{"a: 1\nb: *nope\n", "y.yaml: unknown anchor 'nope' referenced"},
		{"a: [", "y.yaml:1: did not find expected node content"},
		{"a: 1\nb: [\n\n", "y.yaml:3: did not find expected node content"},
		{"a: \x01\n", "y.yaml: control characters are not allowed"},
	}
	for _, tc := range cases {
		_, _, err := Parse("y.yaml", []byte(tc.src), envOf(nil))
		if err == nil || err.Error() != tc.want {
			t.Errorf("%q: got %v, want %s", tc.src, err, tc.want)
		}
	}
}

// A tab in the indentation is reported at the tab, with what to write
// instead; yaml.v3 names the line of the value before it, or no column.
func TestIndentationTab(t *testing.T) {
	const tab = ": a tab in the indentation: YAML forbids tabs for indentation; use spaces"
	cases := []struct{ src, want string }{
		{"a:\n  - name: z\n\tsource: x\n", "y.yaml:3:1" + tab},
		{"a:\n  b: 1\n  \tc: 2\n", "y.yaml:3:3" + tab},
		{"a:\n  b:\n\t\tc: 2\n", "y.yaml:3:1" + tab},
		{"a:\n\tb: 1\n", "y.yaml:2:1" + tab},
		{"\ta: 1\n", "y.yaml:1:1" + tab},
		{"a:\n  - 1\n\t- 2\n", "y.yaml:3:1" + tab},
		{"a: |\n  x\n\ty\n", "y.yaml:3:1" + tab},
		{"x:\n  y: 1\nr:\n  - name: r\n    when: a\n      b\n\t  c: 1\n", "y.yaml:7:1" + tab},
		// Not a tab: the message stays yaml.v3's.
		{"a: 1\nb: @x\n", "y.yaml:2: found character that cannot start any token"},
		{"a: 1\n\tb: @x\n", "y.yaml:2:1" + tab},
	}
	for _, tc := range cases {
		_, _, err := Parse("y.yaml", []byte(tc.src), envOf(nil))
		if err == nil || err.Error() != tc.want {
			t.Errorf("%q: got %v, want %s", tc.src, err, tc.want)
		}
	}
}

func TestEmptyDocuments(t *testing.T) {
	for _, src := range []string{"", "\n\n", "# only a comment\n", "---\n", "~\n", "null\n"} {
		_, _, err := Parse("e.yaml", []byte(src), envOf(nil))
		if err == nil || err.Error() != "e.yaml: empty config: it needs at least clusters: and rules:" {
			t.Errorf("%q: %v", src, err)
		}
	}
	_, _, err := Parse("e.yaml", []byte("- a\n"), envOf(nil))
	if err == nil || err.Error() != "e.yaml:1:1: the config must be a mapping of keys (server, clusters, actions, windows, rules, ...), got a list" {
		t.Errorf("list: %v", err)
	}
}

func TestLoad(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "leaderhook.yaml")
	if err := os.WriteFile(path, []byte(base+"state_dir: ${LH_TEST_DIR}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("LH_TEST_DIR", "/srv/lh")
	t.Setenv("LEADERHOOK_AUDIT_LOG", "/srv/lh/audit.jsonl")
	cfg, _, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.StateDir != "/srv/lh" || cfg.AuditLog != "/srv/lh/audit.jsonl" {
		t.Errorf("state_dir %q, audit_log %q", cfg.StateDir, cfg.AuditLog)
	}
	if _, _, err := Load(filepath.Join(dir, "missing.yaml")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
}

func TestDiagnosticString(t *testing.T) {
	cases := []struct {
		d    Diagnostic
		want string
	}{
		{Diagnostic{File: "f.yaml", Line: 14, Col: 11, Path: "rules[2].when", Msg: `unknown name "leadr_id"`}, `f.yaml:14:11: rules[2].when: unknown name "leadr_id"`},
		{Diagnostic{File: "f.yaml", Line: 3, Msg: "syntax"}, "f.yaml:3: syntax"},
		{Diagnostic{File: "f.yaml", Path: "server.listen", Msg: "bad"}, "f.yaml: server.listen: bad"},
		{Diagnostic{File: "f.yaml", Msg: "empty"}, "f.yaml: empty"},
	}
	for _, tc := range cases {
		if got := tc.d.String(); got != tc.want {
			t.Errorf("got %s, want %s", got, tc.want)
		}
	}
	errs := &Errors{Diagnostics: []Diagnostic{cases[0].d, cases[1].d}}
	if got := errs.Error(); got != cases[0].want+"\n"+cases[1].want {
		t.Errorf("Errors.Error() = %q", got)
	}
}

func TestDottedKeysStayWhole(t *testing.T) {
	cfg, _, err := Parse("x.yaml", []byte(`clusters:
  - name: z
    labels: {app.kubernetes.io/name: ziti}
    source: {type: events, stdin: true}
actions:
  page: {type: webhook, url: "http://127.0.0.1:9/x"}
rules:
  - {name: r, when: 'labels["app.kubernetes.io/name"] == "ziti"', actions: [page]}
`), envOf(nil))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Clusters[0].Labels["app.kubernetes.io/name"] != "ziti" {
		t.Errorf("labels = %v", cfg.Clusters[0].Labels)
	}
}

func TestWarnings(t *testing.T) {
	_, res, err := Parse("w.yaml", []byte(`clusters:
  - name: z
    source: {type: events, stdin: true}
actions:
  page: {type: webhook, url: "http://127.0.0.1:9/x"}
rules:
  - name: r
    when: leaderless_for.Seconds() > 30
    actions: [page]
`), envOf(nil))
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Warnings) != 1 || !strings.HasPrefix(res.Warnings[0].String(), "w.yaml:8:11: rules[0].when: leaderless_for/leader_for is compared with no duration") {
		t.Errorf("warnings: %v", res.Warnings)
	}
}

// An API reachable from other hosts without a token is allowed, since
// ingest then refuses them, but check says so.
// A warning about a shell program never prints what a ${VAR} put in its
// path, however short; other warnings are left as they are.
func TestProgramWarningsHideEnv(t *testing.T) {
	cases := []struct{ command, env, want string }{
		{`["${PROG}"]`, "/nonexistent/s3cr3t", "w.yaml:5:30: actions.a.command[0]: REDACTED does not exist (yet?)"},
		{`["${PROG}"]`, "/nx", "w.yaml:5:30: actions.a.command[0]: REDACTED does not exist (yet?)"},
		{`["/nonexistent/${PROG}/run"]`, "s3cr3t", "w.yaml:5:30: actions.a.command[0]: /nonexistent/REDACTED/run does not exist (yet?)"},
		{`["${PROG}"]`, "no-such-program-s3cr3t", "w.yaml:5:30: actions.a.command[0]: REDACTED is not found in PATH"},
		{`["${PROG:-/nonexistent/default}"]`, "", "w.yaml:5:30: actions.a.command[0]: /nonexistent/default does not exist (yet?)"},
		{`[/nonexistent/run, "${PROG}"]`, "s3cr3t", "w.yaml:5:30: actions.a.command[0]: /nonexistent/run does not exist (yet?)"},
	}
	for _, c := range cases {
		env := map[string]string{}
		if c.env != "" {
			env["PROG"] = c.env
		}
		_, res, err := Parse("w.yaml", []byte(`clusters:
  - name: z
    source: {type: events, stdin: true}
actions:
  a: {type: shell, command: `+c.command+`}
rules:
  - {name: r, when: leaderless, actions: [a]}
`), envOf(env))
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Warnings) != 1 || res.Warnings[0].String() != c.want {
			t.Errorf("%s with PROG=%q: warnings %v, want %s", c.command, c.env, res.Warnings, c.want)
		}
	}
}

func TestOpenListenWarning(t *testing.T) {
	for _, c := range []struct {
		server string
		env    map[string]string
		warn   string // "" for none
	}{
		{server: "", warn: ""},
		{server: "listen: 127.0.0.1:9464", warn: ""},
		{server: "listen: '[::1]:9464'", warn: ""},
		{server: "listen: localhost:9464", warn: ""},
		{server: "listen: 0.0.0.0:9464", warn: "w.yaml:1:18: server.listen: 0.0.0.0:9464 is reachable from other hosts but server.ingest_token is empty"},
		{server: "listen: ':9464'", warn: "server.ingest_token is empty"},
		{server: "listen: 10.1.2.3:9464, ingest_token: s3cret", warn: ""},
		{server: "listen: 0.0.0.0:9464, ingest_token: '${TOKEN:-}'", warn: "server.ingest_token is empty"},
		{server: "listen: 0.0.0.0:9464, ingest_token: '${TOKEN}'", env: map[string]string{"TOKEN": "x"}, warn: ""},
		{server: "", env: map[string]string{"LEADERHOOK_SERVER__LISTEN": "0.0.0.0:9464"}, warn: "server.ingest_token is empty"},
	} {
		data := "server: {" + c.server + "}\nclusters:\n  - name: z\n    source: {type: events, http: true}\n"
		got, err := warningsOf(data, c.env)
		if err != nil {
			t.Errorf("%s: %v", c.server, err)
			continue
		}
		switch {
		case c.warn == "" && len(got) != 0:
			t.Errorf("%s %v: unexpected warnings %q", c.server, c.env, got)
		case c.warn != "" && (len(got) != 1 || !strings.Contains(got[0], c.warn)):
			t.Errorf("%s %v: warnings %q, want one with %q", c.server, c.env, got, c.warn)
		}
	}
}

// A raft transport reachable from other hosts without mutual TLS takes
// log entries from whoever connects (events that fire failover scripts),
// whatever server.ingest_token says: check says so.
func TestOpenRaftBindWarning(t *testing.T) {
	ca := testpki.New(t)
	cert, key := ca.Issue("node", x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth)
	tlsBlock := "\n  tls: {cert_file: " + cert + ", key_file: " + key + ", ca_file: " + ca.File + "}"
	for _, c := range []struct {
		bind, tls string
		warn      string // "" for none
	}{
		{bind: "127.0.0.1:7401", warn: ""},
		{bind: "localhost:7401", warn: ""},
		{bind: "10.0.1.11:7401", warn: "w.yaml:6:9: ha.bind: 10.0.1.11:7401 is reachable from other hosts but ha.tls is not set"},
		{bind: "0.0.0.0:7401", warn: "ha.tls is not set"},
		{bind: "10.0.1.11:7401", tls: tlsBlock, warn: ""},
	} {
		data := "server: {ingest_token: s3cret}\nclusters:\n  - name: z\n    source: {type: events, http: true}\n" +
			"ha:\n  bind: '" + c.bind + "'\n  node_id: n1\n  data_dir: /tmp/x\n  peers: [{id: n1, address: '" + c.bind + "'}]" + c.tls + "\n"
		got, err := warningsOf(data, nil)
		if err != nil {
			t.Errorf("%s: %v", c.bind, err)
			continue
		}
		switch {
		case c.warn == "" && len(got) != 0:
			t.Errorf("%s %q: unexpected warnings %q", c.bind, c.tls, got)
		case c.warn != "" && (len(got) != 1 || !strings.Contains(got[0], c.warn)):
			t.Errorf("%s %q: warnings %q, want one with %q", c.bind, c.tls, got, c.warn)
		}
	}
}

// Values from the environment in an action's settings are kept for
// redaction, except in its URL, method, type and format; defaults are not
// secrets.
func TestActionValuesFromEnv(t *testing.T) {
	cfg, _, err := Parse("e.yaml", []byte(`clusters:
  - {name: z, source: {type: events, stdin: true}}
actions:
  hook:
    type: webhook
    url: http://${HOST}/x
    headers: {X-Key: "${HDR}"}
    body: '{"k": "${BODY}", "d": "${UNSET:-a-default-value}"}'
  run: {type: shell, command: [/bin/echo, "${ARG}"], env: {T: "${ENVV}"}}
rules:
  - {name: r, when: leaderless, actions: [hook, run]}
`), envOf(map[string]string{"HOST": "receiver.example", "HDR": "hdr-value", "BODY": "body-value", "ARG": "arg-value", "ENVV": "env-value"}))
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string][]string{"hook": {"hdr-value", "body-value"}, "run": {"arg-value", "env-value"}} {
		if got := cfg.Actions[name].FromEnv; !slices.Equal(got, want) {
			t.Errorf("%s: FromEnv %q, want %q", name, got, want)
		}
	}
}

// The settings of an action of each kind, or the zero settings when the
// action is of another kind.
func webhookOf(s actions.Spec) webhook.Config { c, _ := s.Config.(webhook.Config); return c }
func shellOf(s actions.Spec) shell.Config     { c, _ := s.Config.(shell.Config); return c }
func slackOf(s actions.Spec) slack.Config     { c, _ := s.Config.(slack.Config); return c }

func TestHistoryBounds(t *testing.T) {
	age, size := History{}.Bounds()
	if age != DefaultHistoryMaxAge || size != DefaultHistoryMaxBytes {
		t.Errorf("defaults: %v %d", age, size)
	}
	hour := time.Hour
	if age, size := (History{MaxAge: &hour, MaxBytes: 10}).Bounds(); age != hour || size != 10 {
		t.Errorf("set: %v %d", age, size)
	}
	var errs field.List
	zero := time.Duration(0)
	checkHistory(History{MaxAge: &zero, MaxBytes: -1}, &errs)
	if len(errs) != 2 {
		t.Errorf("want 2 errors, got %v", errs)
	}
}

// A listen address whose port net.Listen refuses is an error of check,
// not a failure of run.
func TestListenPort(t *testing.T) {
	for _, c := range []struct{ listen, err string }{
		{listen: "127.0.0.1:99999", err: `l.yaml:1:18: server.listen: "127.0.0.1:99999": port "99999" is not a TCP port number or service name`},
		{listen: "127.0.0.1:-1", err: `l.yaml:1:18: server.listen: "127.0.0.1:-1": port "-1" is not a TCP port number or service name`},
		{listen: "127.0.0.1:http"},
		{listen: "[::1]:9464"},
	} {
		data := "server: {listen: '" + c.listen + "'}\nclusters:\n  - name: z\n    source: {type: events, http: true}\n"
		_, _, err := Parse("l.yaml", []byte(data), envOf(nil))
		got := ""
		if err != nil {
			got = err.Error()
		}
		if got != c.err {
			t.Errorf("listen %s: error %q, want %q", c.listen, got, c.err)
		}
	}
}

// The ha block's addresses are checked as server.listen is.
func TestHAAddressPort(t *testing.T) {
	data := "clusters:\n  - name: z\n    source: {type: events, http: true}\n" +
		"ha:\n  node_id: n1\n  bind: '127.0.0.1:99999'\n  data_dir: /tmp/x\n  peers:\n    - {id: n1, address: '127.0.0.1:7401'}\n    - {id: n2, address: 'h2:-1'}\n"
	_, _, err := Parse("l.yaml", []byte(data), envOf(nil))
	for _, want := range []string{`ha.bind: "127.0.0.1:99999": port "99999" is not a TCP port number`, `ha.peers[1].address: "h2:-1": port "-1" is not a TCP port number`} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error %v, want it to say %s", err, want)
		}
	}
}

// warningsOf parses data as w.yaml and returns its warnings as check
// prints them.
func warningsOf(data string, env map[string]string) ([]string, error) {
	_, res, err := Parse("w.yaml", []byte(data), envOf(env))
	if err != nil {
		return nil, err
	}
	var got []string
	for _, w := range res.Warnings {
		got = append(got, w.String())
	}
	return got, nil
}

// An action that opens an incident (an Alertmanager alert, a PagerDuty
// incident) on a rule that never resolves it is warned of, with advice the
// rule can take, whether it opens it at the firing or at a verify_failed:
// a scheduled rule, which has no resolve and refuses on_resolve, is not.
func TestUnresolvedIncidentWarning(t *testing.T) {
	for _, c := range []struct {
		name, rule string
		warn       string // "" for none
	}{
		{name: "alert not resolved", rule: "when: leaderless, actions: [am]",
			warn: "rules[0].actions[0]: am (alertmanager) opens an incident that only a resolve closes: add it to on_resolve"},
		{name: "incident not resolved", rule: "when: leaderless, actions: [pd]", warn: "pd (pagerduty) opens an incident"},
		{name: "resolved", rule: "when: leaderless, actions: [am], on_resolve: [am]"},
		{name: "a change event", rule: "when: leaderless, actions: [change]"},
		{name: "scheduled", rule: "schedule: '0 9 * * *', when: leaderless, actions: [am, pd]"},
		{name: "verify_failed alert not resolved", rule: "when: leaderless, actions: [change], verify: {when: '!leaderless', within: 2m, on_failure: [change, am]}",
			warn: "rules[0].verify.on_failure[1]: am (alertmanager) opens an incident on verify_failed that only the rule's resolve closes: add it to on_resolve"},
		{name: "verify_failed incident resolved", rule: "when: leaderless, actions: [change], verify: {when: '!leaderless', within: 2m, on_failure: [pd]}, on_resolve: [pd]"},
	} {
		data := "clusters:\n  - name: z\n    source: {type: events, stdin: true}\nactions:\n" +
			"  am: {type: alertmanager, urls: ['http://127.0.0.1:9093']}\n" +
			"  pd: {type: pagerduty, routing_key: 0123456789abcdef0123456789abcdef}\n" +
			"  change: {type: pagerduty, routing_key: 0123456789abcdef0123456789abcdef, change: true}\n" +
			"rules:\n  - {name: r, " + c.rule + "}\n"
		got, err := warningsOf(data, nil)
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		switch {
		case c.warn == "" && len(got) != 0:
			t.Errorf("%s: unexpected warnings %q", c.name, got)
		case c.warn != "" && (len(got) != 1 || !strings.Contains(got[0], c.warn)):
			t.Errorf("%s: warnings %q, want one with %q", c.name, got, c.warn)
		}
	}
}

// ParseServer, for the commands that call a running daemon, reads the
// server block with the environment's overrides as Parse does, and leaves
// problems elsewhere in the file to check and run.
func TestParseServer(t *testing.T) {
	const elsewhere = "clusters: []\nrules:\n  - {name: r, when: 'leaderless_for >= duration(\"20x\")', actions: [nope]}\n" +
		"actions:\n  hook: {type: webhook, url: \"${UNSET_URL}\"}\nwindws: {}\n"
	cases := []struct {
		name, yaml string
		env        map[string]string
		listen     string // want, when no error
		err        string
	}{
		{name: "errors elsewhere", yaml: "server: {listen: 127.0.0.1:1, tls: {cert_file: ''}}\n" + elsewhere, listen: "127.0.0.1:1"},
		{name: "no server block", yaml: elsewhere, listen: DefaultListen},
		{name: "override", yaml: "server: {listen: 127.0.0.1:1}\n" + elsewhere,
			env: map[string]string{"LEADERHOOK_SERVER__LISTEN": "[::1]:2", "LEADERHOOK_MAX_CLOCK_SKEW": "never"}, listen: "[::1]:2"},
		{name: "merged in", yaml: "base: &b {listen: 127.0.0.1:3}\nserver: {<<: *b}\n", listen: "127.0.0.1:3"},
		{name: "${VAR} in the server block", yaml: "server: {listen: '127.0.0.1:${PORT}'}\n", env: map[string]string{"PORT": "4"}, listen: "127.0.0.1:4"},
		{name: "bad listen", yaml: "server: {listen: nowhere}\n" + elsewhere,
			err: `s.yaml:1:18: server.listen: "nowhere" is not host:port, e.g. 127.0.0.1:9464`},
		{name: "unknown key in the block", yaml: elsewhere + "server:\n  lisen: 127.0.0.1:1\n",
			err: `s.yaml:8:3: server.lisen: unknown key "lisen" (valid: listen, ingest_token, max_body_bytes, external_url, tls)`},
		{name: "unset ${VAR} in the block", yaml: "server: {ingest_token: '${UNSET_TOKEN}'}\n",
			err: `s.yaml:1:24: server.ingest_token: environment variable UNSET_TOKEN is not set (use ${UNSET_TOKEN:-default} for a default)`},
		{name: "bad override", env: map[string]string{"LEADERHOOK_SERVER__LISTEN": "nowhere"}, yaml: elsewhere,
			err: `s.yaml: server.listen: "nowhere" is not host:port, e.g. 127.0.0.1:9464 (set by LEADERHOOK_SERVER__LISTEN)`},
		{name: "tls file missing", yaml: "server:\n  tls: {cert_file: /nonexistent/c.pem, key_file: /nonexistent/k.pem}\n", err: "s.yaml:2:"},
		{name: "syntax", yaml: "server: {listen: [\n", err: "s.yaml:"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			server, err := ParseServer("s.yaml", []byte(tc.yaml), envOf(tc.env))
			switch {
			case tc.err != "":
				if err == nil || !strings.HasPrefix(err.Error(), tc.err) {
					t.Fatalf("error:\n%v\nwant:\n%s", err, tc.err)
				}
			case err != nil:
				t.Fatal(err)
			case server.Listen != tc.listen:
				t.Errorf("listen %q, want %q", server.Listen, tc.listen)
			}
		})
	}
}

// ParseDaemon refuses, at the key, the sources `leaderhook run` refuses at
// start; Parse, for programs that embed leaderhook, takes them.
func TestParseDaemon(t *testing.T) {
	const rest = "actions:\n  hook: {type: webhook, url: \"http://127.0.0.1:9/hook\"}\nrules:\n  - {name: lost, when: leaderless, actions: [hook]}\n"
	cases := []struct{ name, clusters, err string }{
		{name: "raft source", clusters: "  - {name: a, source: {type: raft}}\n",
			err: "d.yaml:2:30: clusters[0].source.type: a raft source is for a Go program that embeds leaderhook (detector.RaftSource): " +
				"leaderhook run cannot reach the node; use poll or events"},
		{name: "two stdin", clusters: "  - {name: a, source: {type: events, stdin: true}}\n  - {name: b, source: {type: events, http: true}}\n" +
			"  - {name: c, source: {type: events, stdin: true, http: true}}\n",
			err: "d.yaml:4:45: clusters[2].source.stdin: cluster a reads stdin already: only one cluster can"},
		{name: "one stdin", clusters: "  - {name: a, source: {type: events, stdin: true}}\n  - {name: b, source: {type: events, http: true}}\n"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			data := []byte("clusters:\n" + tc.clusters + rest)
			if _, _, err := Parse("d.yaml", data, envOf(nil)); err != nil {
				t.Errorf("Parse: %v", err)
			}
			_, _, err := ParseDaemon("d.yaml", data, envOf(nil))
			got := ""
			if err != nil {
				got = err.Error()
			}
			if got != tc.err {
				t.Errorf("ParseDaemon: error\n%s\nwant\n%s", got, tc.err)
			}
		})
	}
}

// A URL that a ${VAR} supplies whole, or the start of, carries its token in
// its path (Discord, Mattermost, a heartbeat's): the action's Where, the
// errors of its attempts and their detail do not show it.
func TestURLPathFromEnvHidden(t *testing.T) {
	const token = "kT9x2Qm7Vb4nLp8Rz1Wc6Yh3Jd5Fg0Ns-aB_cD"
	receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "Unknown Webhook "+r.URL.Path, http.StatusNotFound)
	}))
	defer receiver.Close()
	for _, c := range []struct{ name, url, value string }{
		{name: "whole", url: "${DISCORD_WEBHOOK_URL}", value: receiver.URL + "/api/webhooks/1/" + token},
		{name: "with a query", url: "${DISCORD_WEBHOOK_URL}", value: receiver.URL + "/api/webhooks/1/" + token + "?wait=true"},
		{name: "the start", url: "${HOOK_BASE}/send", value: receiver.URL + "/hooks/" + token},
		{name: "a uuid", url: "${HOOK_BASE}", value: receiver.URL + "/ping/" + "0b5e7f0e-4c1a-4f7e-9d2b-3c8a1e6f5d40"},
	} {
		data := "clusters:\n  - {name: z, source: {type: events, stdin: true}}\n" +
			"actions:\n  hook: {type: webhook, url: '" + c.url + "'}\n" +
			"rules:\n  - {name: r, when: leaderless, actions: [hook]}\n"
		cfg, _, err := Parse("u.yaml", []byte(data), envOf(map[string]string{"DISCORD_WEBHOOK_URL": c.value, "HOOK_BASE": c.value}))
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		a, err := webhook.New("hook", cfg.Actions["hook"], nil)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		n := actions.Notification{DeliveryID: "msg_1", Rule: "r", Status: actions.StatusFiring, Cluster: "z"}
		out, err := a.Run(context.Background(), &n)
		if err == nil || out.HTTPStatus != http.StatusNotFound {
			t.Fatalf("%s: %+v %v, want a 404", c.name, out, err)
		}
		for what, s := range map[string]string{"Where": a.Where(), "error": err.Error(), "detail": out.Detail} {
			if strings.Contains(s, token) || strings.Contains(s, "0b5e7f0e") {
				t.Errorf("%s: %s shows the token: %s", c.name, what, s)
			}
		}
	}
}

// A path without a token-like segment (16 characters or more, letters
// and digits) says where, not who: it is shown, in Where and errors.
func TestURLPathFromEnvShownWithoutToken(t *testing.T) {
	receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "no "+r.URL.Path+" configured", http.StatusNotFound)
	}))
	defer receiver.Close()
	for _, path := range []string{"/webhooks", "/alertmanager", "/v2/enqueue", "/api/v1/notifications-receiver"} {
		data := "clusters:\n  - {name: z, source: {type: events, stdin: true}}\n" +
			"actions:\n  hook: {type: webhook, url: '${HOOK_URL}'}\n" +
			"rules:\n  - {name: r, when: leaderless, actions: [hook]}\n"
		cfg, _, err := Parse("u.yaml", []byte(data), envOf(map[string]string{"HOOK_URL": receiver.URL + path}))
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		a, err := webhook.New("hook", cfg.Actions["hook"], nil)
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		n := actions.Notification{DeliveryID: "msg_1", Rule: "r", Status: actions.StatusFiring, Cluster: "z"}
		out, err := a.Run(context.Background(), &n)
		if err == nil || out.HTTPStatus != http.StatusNotFound {
			t.Fatalf("%s: %+v %v, want a 404", path, out, err)
		}
		for what, s := range map[string]string{"Where": a.Where(), "detail": out.Detail} {
			if !strings.Contains(s, path) || strings.Contains(s, "REDACTED") {
				t.Errorf("%s: %s hides the path: %s", path, what, s)
			}
		}
	}
}

// A password written into a poll member's URL stays hidden in the error
// that refuses the URL, however malformed the URL: a '/', '?' or '#' in
// the password makes url.Parse fail, and the error is logged and sent in
// the reply to POST /-/reload. A URL that parses, but with an '@' outside
// any user info, loads with a warning: it may be a query or a path that
// holds an '@', or a password with a '/' read as a port and a path, which
// cannot be told apart; the warning hides it as the member's name does.
func TestPollMemberPasswordHiddenInErrors(t *testing.T) {
	const secret = "ss9Secret"
	data := "clusters:\n  - name: a\n    source: {type: poll, preset: etcd, members: [\"${MEMBER}\"]}\nrules: []\n"
	cases := []struct {
		member  string
		refused bool
	}{
		{"http://root:pa/" + secret + "@db1:2379", true},
		{"http://root:pa?" + secret + "@db1:2379", true},
		{"http://root:pa#" + secret + "@db1:2379", true},
		{"http://root:pa" + secret + ":x/@db1:2379", true},
		{"http://root:1234/" + secret + "@db1:2379", false},
		{"http://db1:4001/status?owner=" + secret + "@example.com", false},
		{"http://db1/@admin", false},
	}
	for _, c := range cases {
		_, res, err := ParseDaemon("c.yaml", []byte(data), envOf(map[string]string{"MEMBER": c.member}))
		if err != nil && strings.Contains(err.Error(), secret) {
			t.Errorf("member %q: the error shows the secret: %v", c.member, err)
		}
		if c.refused {
			if err == nil || !strings.Contains(err.Error(), "clusters[0].source.members[0]") || !strings.Contains(err.Error(), "percent-encode") {
				t.Errorf("member %q: error %v, want the member refused saying to percent-encode", c.member, err)
			}
			continue
		}
		if err != nil {
			t.Errorf("member %q: refused (%v), want it loaded with a warning", c.member, err)
			continue
		}
		if len(res.Warnings) != 1 || !strings.Contains(res.Warnings[0].String(), "clusters[0].source.members[0]") ||
			!strings.Contains(res.Warnings[0].String(), "%40") || strings.Contains(res.Warnings[0].String(), secret) {
			t.Errorf("member %q: warnings %v, want one at the member saying to percent-encode, without the secret", c.member, res.Warnings)
		}
	}
}

// A value that a ${VAR} put in one action's settings and that another
// action takes through an alias or a merge is that action's secret too:
// its warnings do not show it, however short.
func TestEnvValueReachingActionThroughAliasIsRedacted(t *testing.T) {
	const head = "clusters:\n  - name: a\n    source: {type: events, http: true}\nactions:\n"
	const tail = "rules:\n  - {name: r, when: leaderless, actions: [a, b]}\n"
	cases := []struct{ name, actions string }{
		{"aliased list", "  a: {type: shell, command: &cmd [\"${SCRIPT}\"]}\n  b: {type: shell, command: *cmd}\n"},
		{"aliased scalar", "  a: {type: shell, command: [&p \"${SCRIPT}\"]}\n  b: {type: shell, command: [*p]}\n"},
		{"merged action", "  a: &a {type: shell, command: [\"${SCRIPT}\"]}\n  b: {<<: *a, timeout: 5s}\n"},
	}
	for _, script := range []string{"/opt/tok-9f8e7d6c5b4a/run.sh", "/nx"} {
		for _, tc := range cases {
			cfg, res, err := ParseDaemon("c.yaml", []byte(head+tc.actions+tail), envOf(map[string]string{"SCRIPT": script}))
			if err != nil {
				t.Fatalf("%s, %s: %v", tc.name, script, err)
			}
			if len(res.Warnings) != 2 {
				t.Errorf("%s, %s: warnings %v, want one for each action", tc.name, script, res.Warnings)
			}
			for _, w := range res.Warnings {
				if strings.Contains(w.String(), script) {
					t.Errorf("%s, %s: a warning shows the value: %s", tc.name, script, w)
				}
			}
			if got := cfg.Actions["b"].FromEnv; !slices.Contains(got, script) {
				t.Errorf("%s, %s: b's FromEnv %q, want it to hold the value", tc.name, script, got)
			}
		}
	}
}
