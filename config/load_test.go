package config

import (
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
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
				os.WriteFile(golden, []byte(got), 0o644)
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
		{"stabilize", cfg.Clusters[0].Stabilize != nil && *cfg.Clusters[0].Stabilize == 2*time.Second},
		{"default stabilize", cfg.Clusters[1].StabilizePeriod() == 2*time.Second},
		{"labels", cfg.Clusters[0].Labels["env"] == "prod"},
		{"poll members", len(cfg.Clusters[1].Source.Members) == 3 && cfg.Clusters[1].Source.Interval == time.Second},
		{"secret", cfg.Actions["page"].Secret == "whsec_c2VjcmV0"},
		{"retry", cfg.Actions["page"].Retry.MaxAttempts == 6 && cfg.Actions["page"].Retry.MaxBackoff == time.Minute},
		{"template kept", cfg.Actions["failover"].Command[1] == "{{ .Cluster }}"},
		{"window", cfg.Windows["sunday-maintenance"].Duration == 2*time.Hour},
		{"rules", len(cfg.Rules) == 4 && cfg.Rules[0].Cooldown == 10*time.Minute && cfg.Rules[3].Schedule == "0 9 * * *"},
		{"location", cfg.Location() == time.UTC},
	}
	for _, c := range checks {
		if !c.ok {
			t.Errorf("%s: wrong value in %+v", c.name, cfg)
		}
	}
}

func TestEnvironment(t *testing.T) {
	base := `clusters:
  - name: z
    stabilize: 1s
    source: {type: events, stdin: true}
actions:
  page: {type: webhook, url: "${URL:-http://127.0.0.1:9/default}", body: "$${literal} $$ and $HOME"}
rules:
  - {name: r, when: leaderless, actions: [page]}
`
	cases := []struct {
		name  string
		env   map[string]string
		check func(*Config) bool
		err   string
	}{
		{name: "default used", env: map[string]string{}, check: func(c *Config) bool {
			return c.Actions["page"].URL == "http://127.0.0.1:9/default" && c.Actions["page"].Body == "${literal} $$ and $HOME"
		}},
		{name: "value used", env: map[string]string{"URL": "https://x.example/y"}, check: func(c *Config) bool { return c.Actions["page"].URL == "https://x.example/y" }},
		{name: "override listen and state_dir", env: map[string]string{"LEADERHOOK_SERVER__LISTEN": "0.0.0.0:1234", "LEADERHOOK_STATE_DIR": "/var/lib/lh", "LEADERHOOK_TOKEN": "secret"},
			check: func(c *Config) bool { return c.Server.Listen == "0.0.0.0:1234" && c.StateDir == "/var/lib/lh" }},
		{name: "override with a bad int", env: map[string]string{"LEADERHOOK_SERVER__MAX_BODY_BYTES": "big"}, err: `valid.yaml: server.max_body_bytes: from LEADERHOOK_SERVER__MAX_BODY_BYTES: want an integer, got "big"`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg, _, err := Parse("valid.yaml", []byte(base), envOf(tc.env))
			if tc.err != "" {
				if err == nil || err.Error() != tc.err {
					t.Fatalf("error %v, want %s", err, tc.err)
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

func TestScalarPosition(t *testing.T) {
	data := []byte("clusters:\n  - name: z\n    source: {type: events, stdin: true}\nactions:\n  a: {type: webhook, url: \"http://127.0.0.1:9/x\"}\nrules:\n  - name: r\n    when: \"leaderless && nope\"\n    actions: [a]\n  - name: s\n    when: >\n      leaderless &&\n      nope2\n    actions: [a]\n")
	_, _, err := Parse("p.yaml", data, envOf(nil))
	var list *Errors
	if !errors.As(err, &list) || len(list.Diagnostics) != 2 {
		t.Fatalf("err = %v", err)
	}
	// Quoted: column of the opening quote + 1 + offset of "nope".
	if d := list.Diagnostics[0]; d.Line != 8 || d.Col != 26 {
		t.Errorf("quoted: %s", d)
	}
	// Folded block: the second line of the block, after its indentation.
	if d := list.Diagnostics[1]; d.Line != 13 || d.Col != 7 {
		t.Errorf("folded: %s", d)
	}
}
