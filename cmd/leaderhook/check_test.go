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
