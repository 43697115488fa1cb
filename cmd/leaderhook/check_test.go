package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// check's last line counts the errors, in the singular for one.
func TestCheckCountsErrors(t *testing.T) {
	const head = "clusters:\n  - name: z\n    source: {type: events, stdin: true}\nrules:\n"
	cases := []struct{ rules, want string }{
		{"  - {name: r, when: leaderless, actions: [b]}\n", ": 1 error\n"},
		{"  - {name: r, when: leaderless, actions: [b]}\n  - {name: s, when: nope, actions: [c]}\n", ": 3 errors\n"},
	}
	for _, c := range cases {
		path := filepath.Join(t.TempDir(), "c.yaml")
		if err := os.WriteFile(path, []byte(head+c.rules), 0o644); err != nil {
			t.Fatal(err)
		}
		_, stderr, code := leaderhook(t, "check", "-c", path)
		if code != 1 || !strings.HasSuffix(stderr, path+c.want) {
			t.Errorf("exit %d, stderr does not end with %q:\n%s", code, path+c.want, stderr)
		}
	}
}

// check refuses what run refuses at start, at the key: a raft source
// (only a Go program that embeds leaderhook holds the node) and a second
// cluster reading stdin.
func TestCheckRefusesWhatRunRefuses(t *testing.T) {
	const rest = "actions:\n  hook: {type: webhook, url: \"http://127.0.0.1:9/hook\"}\nrules:\n  - {name: lost, when: leaderless, actions: [hook]}\n"
	cases := []struct{ name, clusters, want string }{
		{"raft source", "  - {name: a, source: {type: raft}}\n", ":2:30: clusters[0].source.type: "},
		{"two stdin", "  - {name: a, source: {type: events, stdin: true}}\n  - {name: b, source: {type: events, stdin: true}}\n",
			":3:45: clusters[1].source.stdin: "},
	}
	for _, c := range cases {
		dir := t.TempDir()
		path := filepath.Join(dir, "c.yaml")
		// state_dir last, so that the lines named stay; a run that started
		// (the bug) keeps its state out of the package's directory.
		config := "clusters:\n" + c.clusters + rest + "state_dir: " + filepath.Join(dir, "state") + "\n"
		if err := os.WriteFile(path, []byte(config), 0o644); err != nil {
			t.Fatal(err)
		}
		for _, cmd := range []string{"check", "run"} {
			if _, stderr, code := leaderhook(t, cmd, "-c", path); code != 1 || !strings.Contains(stderr, path+c.want) {
				t.Errorf("%s: %s exits %d, stderr %q; want 1 and %q", c.name, cmd, code, stderr, path+c.want)
			}
		}
	}
}
