package main

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/leaderhook/leaderhook/event"
)

// fireConfig writes a config with two clusters and the given actions.
func fireConfig(t *testing.T, dir, actions string) string {
	t.Helper()
	path := filepath.Join(dir, "rules.yaml")
	body := "clusters:\n  - {name: east, source: {type: events, http: true}}\n  - {name: west, source: {type: events, http: true}}\n" +
		"actions:\n" + actions + "\nrules:\n  - {name: r, when: leaderless, actions: [failover]}\n"
	if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// fire tests one action: after a failure it names the on_failure actions
// it did not run, and how to fire each, and runs none of them.
func TestFireListsFallbacksItDoesNotRun(t *testing.T) {
	dir := t.TempDir()
	ran := filepath.Join(dir, "fallback-ran")
	config := fireConfig(t, dir, fmt.Sprintf(`  failover: {type: shell, command: [/bin/sh, -c, "exit 3"], on_failure: [page, note]}
  page: {type: shell, command: [/bin/sh, -c, "echo page >> %[1]s"]}
  note: {type: shell, command: [/bin/sh, -c, "echo note >> %[1]s"]}`, ran))

	out, stderr, code := leaderhook(t, "fire", "-c", config, "failover", "--status", "resolved", "--cluster", "west", "--yes")
	if code != 1 {
		t.Errorf("exit %d, want 1\n%s%s", code, out, stderr)
	}
	want := "not run: on_failure page, note (fire tests one action). Test each with:\n" +
		"  leaderhook fire -c " + config + " page --status resolved --cluster west\n" +
		"  leaderhook fire -c " + config + " note --status resolved --cluster west\n"
	if !strings.Contains(out, "FAILED to deliver to failover after 1 attempts") || !strings.HasSuffix(out, want) {
		t.Errorf("output:\n%s\nwant it to end with:\n%s", out, want)
	}
	if _, err := os.Stat(ran); err == nil {
		t.Error("fire ran a fallback action")
	}

	// The commands it prints work as printed (--yes answers the question
	// fire asks at a terminal).
	out, stderr, code = leaderhook(t, "fire", "-c", config, "page", "--status", "resolved", "--cluster", "west", "--yes")
	if code != 0 || !strings.Contains(out, "delivered resolved to page") {
		t.Errorf("fire page: exit %d\n%s%s", code, out, stderr)
	}

	// Without fallbacks, or once delivered, there is nothing to say.
	out, _, _ = leaderhook(t, "fire", "-c", config, "note", "--yes")
	if strings.Contains(out, "not run") {
		t.Errorf("fire note:\n%s", out)
	}
}

func TestFireRefusesAnUnknownCluster(t *testing.T) {
	dir := t.TempDir()
	ran := filepath.Join(dir, "ran")
	config := fireConfig(t, dir, fmt.Sprintf(`  failover: {type: shell, command: [/bin/sh, -c, "echo ran > %s"]}`, ran))
	out, stderr, code := leaderhook(t, "fire", "-c", config, "failover", "--cluster", "nosuch")
	want := `leaderhook: --cluster "nosuch" is not in ` + config + " (clusters: east, west)\n"
	if code != 1 || stderr != want {
		t.Errorf("exit %d, stderr %q; want 1 and %q\n%s", code, stderr, want, out)
	}
	if _, err := os.Stat(ran); err == nil {
		t.Error("the action ran")
	}
	if out, _, code := leaderhook(t, "fire", "-c", config, "failover", "--cluster", "west", "--yes"); code != 0 {
		t.Errorf("--cluster west: exit %d\n%s", code, out)
	}
}

// A script that runs past its timeout is reported as timed out, in the
// words of the timeout, not as interrupted.
func TestFireReportsATimeout(t *testing.T) {
	config := fireConfig(t, t.TempDir(), `  failover: {type: shell, command: [/bin/sleep, "10"], timeout: 200ms, kill_grace: 100ms}`)
	out, _, code := leaderhook(t, "fire", "-c", config, "failover", "--yes")
	if code != 1 || !strings.Contains(out, "attempt 1: failed") || !strings.Contains(out, "/bin/sleep timed out after 200ms") ||
		!strings.Contains(out, "FAILED to deliver to failover after 1 attempts: /bin/sleep timed out after 200ms") ||
		strings.Contains(out, "interrupted") || strings.Contains(out, "deadline") {
		t.Errorf("exit %d\n%s", code, out)
	}
}

// fireAt runs fire with stdin as standard input, a terminal or not.
func fireAt(t *testing.T, terminal bool, stdin string, args ...string) (string, string, int) {
	t.Helper()
	saved := stdinIsTerminal
	stdinIsTerminal = func(io.Reader) bool { return terminal }
	t.Cleanup(func() { stdinIsTerminal = saved })
	var stdout, stderr bytes.Buffer
	code := run(append([]string{"fire"}, args...), strings.NewReader(stdin), &stdout, &stderr)
	return stdout.String(), stderr.String(), code
}

// A program runs only when a person at a terminal says so, or --yes does;
// --dry-run shows it and runs nothing.
func TestFireConfirmsAProgram(t *testing.T) {
	t.Setenv("FIRE_TEST_TOKEN", "tok-1234567890")
	cases := []struct {
		name      string
		terminal  bool
		stdin     string
		flags     []string
		wantCode  int
		wantRun   bool
		wantOut   []string
		wantErr   []string
		forbidden string // in stdout and stderr
	}{
		{name: "no terminal", wantCode: 2,
			wantErr: []string{"leaderhook: failover runs a program (/bin/sh) for real: pass --yes to run it, or --dry-run to see what it would run\n"}},
		{name: "no terminal, --yes", flags: []string{"--yes"}, wantRun: true, wantOut: []string{"delivered firing to failover"}},
		{name: "yes at a terminal", terminal: true, stdin: "y\n", wantRun: true,
			wantErr: []string{"failover runs a program for real, with a made-up leader:\n", "  argv: /bin/sh -c 'echo ran > \"$0\"' ",
				"  env:  TOKEN=REDACTED\n", "  env:  LEADERHOOK_PREVIOUS_LEADER_ID=sample-leader\n", "run it? [y/N] "},
			forbidden: "tok-1234567890"},
		{name: "YES at a terminal", terminal: true, stdin: "YES\n", wantRun: true},
		{name: "no at a terminal", terminal: true, stdin: "n\n", wantCode: 2, wantErr: []string{"run it? [y/N] not run\n"}},
		{name: "nothing said at a terminal", terminal: true, stdin: "", wantCode: 2, wantErr: []string{"not run\n"}},
		{name: "dry run", flags: []string{"--dry-run"}, wantOut: []string{"dry run of failover (shell): nothing is run\n",
			"  argv: /bin/sh -c 'echo ran > \"$0\"' ", "  env:  TOKEN=REDACTED\n", "  env:  LEADERHOOK_STATUS=firing\n"},
			forbidden: "tok-1234567890"},
		{name: "dry run wins over --yes", flags: []string{"--dry-run", "--yes"}, wantOut: []string{"nothing is run"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			ran := filepath.Join(dir, "ran")
			config := fireConfig(t, dir, fmt.Sprintf(`  failover: {type: shell, command: [/bin/sh, -c, 'echo ran > "$0"', "%s"], env: {TOKEN: "${FIRE_TEST_TOKEN}"}}`, ran))
			out, stderr, code := fireAt(t, tc.terminal, tc.stdin, append([]string{"-c", config, "failover"}, tc.flags...)...)
			if code != tc.wantCode {
				t.Errorf("exit %d, want %d\n%s%s", code, tc.wantCode, out, stderr)
			}
			if _, err := os.Stat(ran); (err == nil) != tc.wantRun {
				t.Errorf("the script ran: %v, want %v\n%s%s", err == nil, tc.wantRun, out, stderr)
			}
			for _, w := range tc.wantOut {
				if !strings.Contains(out, w) {
					t.Errorf("stdout lacks %q:\n%s", w, out)
				}
			}
			for _, w := range tc.wantErr {
				if !strings.Contains(stderr, w) {
					t.Errorf("stderr lacks %q:\n%s", w, stderr)
				}
			}
			if tc.forbidden != "" && strings.Contains(out+stderr, tc.forbidden) {
				t.Errorf("the secret shows:\n%s%s", out, stderr)
			}
		})
	}
}

// Sending a test notification is what fire is for: a webhook needs no
// confirmation, but --dry-run sends nothing.
func TestFireWebhookNeedsNoConfirmation(t *testing.T) {
	var posts atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { posts.Add(1) }))
	defer srv.Close()
	config := fireConfig(t, t.TempDir(), fmt.Sprintf(`  failover: {type: webhook, url: "%s/hook", body: "{\"rule\": {{ json .Rule }}}"}`, srv.URL))

	out, stderr, code := fireAt(t, false, "", "-c", config, "failover", "--dry-run")
	want := "dry run of failover (webhook): nothing is sent\n  POST " + srv.URL + "/hook\n"
	if code != 0 || !strings.HasPrefix(out, want) || !strings.Contains(out, "  Content-Type: application/json\n") ||
		!strings.HasSuffix(out, "  | {\"rule\": \"leaderhook-fire\"}\n") || posts.Load() != 0 {
		t.Errorf("--dry-run: exit %d, %d posts\n%s%s", code, posts.Load(), out, stderr)
	}
	out, stderr, code = fireAt(t, false, "", "-c", config, "failover")
	if code != 0 || posts.Load() != 1 || strings.Contains(stderr, "--yes") {
		t.Errorf("fire: exit %d, %d posts\n%s%s", code, posts.Load(), out, stderr)
	}
}

func TestDisplayArg(t *testing.T) {
	for in, want := range map[string]string{
		"/usr/local/bin/failover": "/usr/local/bin/failover",
		"two words":               "'two words'",
		"it's":                    `'it'\''s'`,
		"a\nb\x1b[31m":            `"a\nb\x1b[31m"`,
	} {
		if got := displayArg(in); got != want {
			t.Errorf("displayArg(%q) = %s, want %s", in, got, want)
		}
	}
}

// The sample carries the event and the members as a real notification
// does, so that a template that reads them renders under fire as it would
// live, and fails under fire where it would fail live.
func TestFireSampleCarriesTheEvent(t *testing.T) {
	var got atomic.Value
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		got.Store(string(b))
	}))
	defer srv.Close()
	body := `{{ .Rule }} {{ .Labels }} {{ .Event.eventType }} {{ .Event.namespace }}/{{ .Event.event_src_id }} ` +
		`was {{ .Event.previousLeaderId }}{{ with index .Event "leaderId" }} now {{ . }}{{ end }} {{ .MembersUp }}/{{ .MembersTotal }} {{ .Unreachable }}`
	cases := []struct {
		name, body string
		flags      []string
		want       string // "" for a rendering that fails
	}{
		{name: "firing", body: body, want: "leaderhook-fire map[env:prod] state.is_leaderless cluster/leaderhook was m1 2/3 [m1]"},
		{name: "resolved", body: body, flags: []string{"--status", "resolved"},
			want: "leaderhook-fire map[env:prod] state.has_leader cluster/leaderhook was m1 now m2 2/3 [m1]"},
		{name: "verify_failed", body: body, flags: []string{"--status", "verify_failed"},
			want: "leaderhook-fire map[env:prod] state.is_leaderless cluster/leaderhook was m1 2/3 [m1]"},
		{name: "rule labels", body: body, flags: []string{"--rule", "r"},
			want: "r map[env:prod team:db] state.is_leaderless cluster/leaderhook was m1 2/3 [m1]"},
		// The firing began as the leader was lost: not at the day's start,
		// which only keys the episode so that the resolve finds the firing.
		{name: "a resolve's firing lasted the outage", body: `{{ .Summary }} {{ .Lasted }}`, flags: []string{"--status", "resolved"},
			want: "leader m2 (was m1), after 42s without a leader; the firing lasted 42s 42s"},
		{name: ".Event.leaderId on a resolve", body: `{{ .Event.leaderId }} {{ .Event.change_kind }}`, flags: []string{"--status", "resolved"}, want: "m2 failover"},
		// A state.is_leaderless names no leader: live, this fails too.
		{name: ".Event.leaderId on a firing", body: `{{ .Event.leaderId }}`},
		{name: "--event sets a field", body: `{{ .Event.leaderId }} {{ .LeaderID }} {{ .Event.change_kind }}`,
			flags: []string{"--event", "leaderId=m3", "--event", "change_kind=transfer"}, want: "m3 m3 transfer"},
		{name: "--event removes a field", body: `{{ .Event.cluster }}`, flags: []string{"--event", "cluster="}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got.Store("")
			path := filepath.Join(t.TempDir(), "rules.yaml")
			config := fmt.Sprintf(`clusters:
  - {name: east, members: [m3, m1, m2], labels: {env: prod}, source: {type: events, http: true}}
actions:
  hook: {type: webhook, url: "%s/hook", body: %q, retry: {max_attempts: 1}}
rules:
  - {name: r, when: leaderless, labels: {team: db}, actions: [hook]}
`, srv.URL, tc.body)
			if err := os.WriteFile(path, []byte(config), 0o644); err != nil {
				t.Fatal(err)
			}
			out, stderr, code := fireAt(t, false, "", append([]string{"-c", path, "hook"}, tc.flags...)...)
			if tc.want == "" {
				if code != 1 || !strings.Contains(out, "map has no entry for key") || got.Load() != "" {
					t.Errorf("exit %d, sent %q; want a failed rendering\n%s%s", code, got.Load(), out, stderr)
				}
				return
			}
			if code != 0 || got.Load() != tc.want {
				t.Errorf("exit %d, sent %q, want %q\n%s%s", code, got.Load(), tc.want, out, stderr)
			}
		})
	}
}

func TestFireRefusesWhatIsNotInTheConfig(t *testing.T) {
	config := fireConfig(t, t.TempDir(), `  failover: {type: webhook, url: "http://127.0.0.1:1/hook"}`)
	for _, tc := range []struct {
		flags []string
		want  string
	}{
		{[]string{"--rule", "nosuch"}, `leaderhook: --rule "nosuch" is not in ` + config + " (rules: r)\n"},
		{[]string{"--event", "leaderId"}, `leaderhook: --event "leaderId": want KEY=VALUE (KEY= removes the key)` + "\n"},
		{[]string{"--event", "region=eu"}, `leaderhook: --event "region=eu": no event has the key region (keys: ` + strings.Join(event.FieldNames, ", ") + ")\n"},
	} {
		out, stderr, code := fireAt(t, false, "", append([]string{"-c", config, "failover"}, tc.flags...)...)
		if code != 1 || stderr != tc.want {
			t.Errorf("%v: exit %d, stderr %q; want 1 and %q\n%s", tc.flags, code, stderr, tc.want, out)
		}
	}
}

// A message template that fails on the sample falls back to the default,
// as it does live: fire and --dry-run say so, rather than showing a
// default message as if the template had rendered it.
func TestFireShowsAMessageTemplatesFallback(t *testing.T) {
	var posts atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		posts.Add(1)
		io.WriteString(w, "ok")
	}))
	defer srv.Close()
	config := fireConfig(t, t.TempDir(), fmt.Sprintf(`  failover: {type: slack, webhook_url: "%s/services/T0/B0/X", text: "{{ .Event.leaderId }} leads"}`, srv.URL))
	note := `action failover: template text failed: text:1:9: at <.Event.leaderId>: map has no entry for key "leaderId": the default text sent`
	out, stderr, code := fireAt(t, false, "", "-c", config, "failover", "--dry-run")
	if code != 0 || !strings.Contains(out, "  note: "+note+"\n") || posts.Load() != 0 {
		t.Errorf("--dry-run: exit %d, %d posts\n%s%s", code, posts.Load(), out, stderr)
	}
	out, stderr, code = fireAt(t, false, "", "-c", config, "failover")
	if code != 0 || !strings.Contains(out, "note: "+note+"\n") || !strings.Contains(out, "delivered firing to failover") || posts.Load() != 1 {
		t.Errorf("fire: exit %d, %d posts\n%s%s", code, posts.Load(), out, stderr)
	}
}
