package daemon

import (
	"os"
	"strings"
	"testing"
	"time"

	"github.com/leaderhook/leaderhook/config"
	"github.com/leaderhook/leaderhook/detector"
	"github.com/leaderhook/leaderhook/ha"
)

// reloadSection returns the "## Reload" section of docs/operations.md.
func reloadSection(t *testing.T) string {
	t.Helper()
	doc, err := os.ReadFile("../docs/operations.md")
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(doc), "\n## Reload\n")
	if !ok {
		t.Fatal("docs/operations.md has no ## Reload section")
	}
	section, _, _ = strings.Cut(section, "\n## ")
	return section
}

// Every key a reload refuses to change is named where docs/operations.md
// lists them, so that an operator knows before editing it that it needs a
// restart.
func TestRestartOnlyKeysAreDocumented(t *testing.T) {
	section := reloadSection(t)
	zero := 0
	age := time.Hour
	cases := []struct {
		key    string // what restartOnly names
		doc    string // what the docs must say
		change func(c *config.Config)
	}{
		{"server.listen", "`server.listen`", func(c *config.Config) { c.Server.Listen = "127.0.0.1:1" }},
		{"server.tls", "`server.tls`", func(c *config.Config) { c.Server.TLS.CertFile = "api.pem" }},
		{"state_dir", "`state_dir`", func(c *config.Config) { c.StateDir = "elsewhere" }},
		{"audit_log", "`audit_log`", func(c *config.Config) { c.AuditLog = "audit.jsonl" }},
		{"ha", "`ha`", func(c *config.Config) { c.HA = &ha.Config{NodeID: "lh1"} }},
		{"flight_recorder_bytes", "`flight_recorder_bytes`", func(c *config.Config) { c.FlightRecorderBytes = &zero }},
		{"history", "`history`", func(c *config.Config) { c.History.MaxAge = &age }},
		{"clusters[ziti].source (stdin is read once)", "a cluster that reads stdin", func(c *config.Config) { c.Clusters[0].Source.Stdin = true }},
	}
	for _, tc := range cases {
		t.Run(tc.key, func(t *testing.T) {
			base := func() *config.Config {
				return &config.Config{Clusters: []detector.Cluster{{Name: "ziti"}}}
			}
			next := base()
			tc.change(next)
			keys := restartOnly(base(), next)
			if len(keys) != 1 || keys[0] != tc.key {
				t.Fatalf("restartOnly = %q, want [%q]", keys, tc.key)
			}
			list, _, _ := strings.Cut(section, "the answer and the log")
			if !strings.Contains(list, tc.doc) {
				t.Errorf("docs/operations.md, Reload, does not list %s among the keys only a restart applies:\n%s", tc.doc, list)
			}
		})
	}
}
