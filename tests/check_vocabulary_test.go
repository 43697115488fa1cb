package tests

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestCheckVocabulary: check refuses a type compared with a string that is
// no state type, and a condition whose terms contradict each other, each at
// the place in the file where the mistake is, with the valid values.
func TestCheckVocabulary(t *testing.T) {
	path := filepath.Join(t.TempDir(), "rules.yaml")
	os.WriteFile(path, []byte(`clusters:
  - name: z
    source: {type: events, stdin: true}
actions:
  a: {type: webhook, url: "http://127.0.0.1:9/x"}
rules:
  - name: typo
    when: type == "state.isleaderless"
    actions: [a]
  - name: never
    when: |
      leaderless
        && type == "state.has_leader"
    actions: [a]
  - name: fine
    when: type == "state.is_leaderless" && leaderless
    actions: [a]
`), 0o644)
	_, stderr, code := run(t, nil, "check", "-c", path)
	if code != 1 {
		t.Errorf("exit %d, want 1", code)
	}
	for _, want := range []string{
		path + `:8:19: rules[0].when: type is never "state.isleaderless": valid values: "state.has_leader", "state.is_leaderless"`,
		path + `:13:12: rules[1].when: the condition is never true: type == "state.has_leader" contradicts leaderless (leaderless is true exactly when type is "state.is_leaderless")`,
		path + ": 2 errors",
	} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, stderr)
		}
	}
}
