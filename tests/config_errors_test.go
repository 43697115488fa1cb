package tests

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// configHead is a valid start of a config: one cluster and one action,
// which the rules of each case below name.
const configHead = `clusters:
  - name: z
    source: {type: events, stdin: true}
actions:
  a: {type: shell, command: [/bin/true]}
`

// TestConfigErrorsNamePlaceAndFix runs `check` on configs with the usual
// mistakes: each message gives file:line:col and says what to write.
func TestConfigErrorsNamePlaceAndFix(t *testing.T) {
	cases := []struct {
		name, config string
		want         []string // in stderr, after "FILE:"
	}{
		{"tab indentation", "clusters:\n  - name: z\n\tsource: {type: events, stdin: true}\nrules: []\n",
			[]string{"3:1: ", "YAML forbids tabs for indentation; use spaces"}},
		{"duration compared with a number", configHead + "rules:\n  - {name: r, when: leaderless_for > 30, actions: [a]}\n",
			[]string{"7:38: rules[0].when: ", "leaderless_for is a duration", `duration("30s")`}},
		{"number compared with a duration", configHead + "rules:\n  - {name: r, when: 5 < leader_for, actions: [a]}\n",
			[]string{"7:21: rules[0].when: ", "leader_for is a duration", `duration("5s")`}},
		{"duration written bare", configHead + "rules:\n  - {name: r, when: leaderless_for >= 10s, actions: [a]}\n",
			[]string{"7:39: rules[0].when: ", `duration("10s")`}},
		{"cron hour", configHead + "rules:\n  - {name: r, when: \"true\", schedule: \"0 25 * * *\", actions: [a]}\n",
			[]string{"7:42: rules[0].schedule: ", "hour", "0-23"}},
		{"cron day of week", configHead + "windows:\n  w: {schedule: \"0 2 * * SUNDAY\", duration: 1h}\n" +
			"rules:\n  - {name: r, when: leaderless, mute: [w], actions: [a]}\n",
			[]string{"7:26: windows.w.schedule: ", "day of week", "SUN-SAT"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "leaderhook.yaml")
			if err := os.WriteFile(path, []byte(c.config), 0o644); err != nil {
				t.Fatal(err)
			}
			_, stderr, code := run(t, nil, "check", "-c", path)
			if code != 1 {
				t.Errorf("exit %d, want 1", code)
			}
			line := firstLine(stderr, path+":")
			for _, want := range c.want {
				if !strings.Contains(line, want) {
					t.Errorf("first error lacks %q:\n%s", want, stderr)
				}
			}
		})
	}
}

// firstLine is the first line of s that starts with prefix, without it.
func firstLine(s, prefix string) string {
	for l := range strings.SplitSeq(s, "\n") {
		if rest, ok := strings.CutPrefix(l, prefix); ok {
			return rest
		}
	}
	return ""
}

func TestConfigErrorCountIsSingular(t *testing.T) {
	path := filepath.Join(t.TempDir(), "leaderhook.yaml")
	config := configHead + "rules:\n  - {name: r, when: leaderless, actions: [b]}\n"
	if err := os.WriteFile(path, []byte(config), 0o644); err != nil {
		t.Fatal(err)
	}
	_, stderr, _ := run(t, nil, "check", "-c", path)
	if !strings.HasSuffix(stderr, path+": 1 error\n") {
		t.Errorf("stderr does not end with %q:\n%s", path+": 1 error", stderr)
	}
}

// A program path that comes from the environment may be a secret: the
// warnings about it never print it.
func TestConfigWarningHidesProgramFromEnv(t *testing.T) {
	const prog = "/nonexistent/s3cr3t-program"
	path := filepath.Join(t.TempDir(), "leaderhook.yaml")
	config := strings.Replace(configHead, "[/bin/true]", `["${PROG}"]`, 1) +
		"rules:\n  - {name: r, when: leaderless, actions: [a]}\n"
	if err := os.WriteFile(path, []byte(config), 0o644); err != nil {
		t.Fatal(err)
	}
	_, stderr, code := run(t, []string{"PROG=" + prog}, "check", "-c", path)
	if code != 0 || strings.Contains(stderr, "s3cr3t") {
		t.Errorf("exit %d, stderr shows the program:\n%s", code, stderr)
	}
	want := path + ":5:30: actions.a.command[0]: REDACTED does not exist"
	if !strings.Contains(stderr, want) {
		t.Errorf("stderr lacks %q:\n%s", want, stderr)
	}
}
