package tests

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// hostileID is a leaderId that tries to forge a timeline line, colour the
// terminal and add a Slack mention, a link and an entity.
const hostileID = "evil\n1999-01-01 00:00:00.000  c1           leader forged elected\x1b[31m <!channel> <https://evil.example|x> &amp;"

// hostileEvent is one cluster event from m1, as JSON.
func hostileEvent(t *testing.T, at time.Time, typ, leader string) string {
	t.Helper()
	e := map[string]string{"namespace": "cluster", "event_src_id": "m1", "timestamp": at.UTC().Format(time.RFC3339Nano), "eventType": typ}
	if leader != "" {
		e["leaderId"] = leader
	}
	data, err := json.Marshal(e)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

// timelineLine is a line of the text timeline: a time, or the indent of
// an action under its rule.
var timelineLine = regexp.MustCompile(`^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}  \S| {42}\S)`)

// (a) The text timeline shows a hostile id escaped, on its own line.
func TestHostileLeaderIDInReplay(t *testing.T) {
	dir := t.TempDir()
	config := writeConfig(t, dir, `  note: {type: shell, command: [/bin/true, "{{ .PreviousLeaderID }}"]}`,
		`  - {name: gone, when: leaderless, actions: [note]}`)
	t0 := time.Date(2026, 11, 24, 13, 56, 0, 0, time.UTC)
	events := filepath.Join(dir, "events.jsonl")
	lines := []string{hostileEvent(t, t0, "state.has_leader", "ctrl1"), hostileEvent(t, t0.Add(10*time.Second), "state.has_leader", hostileID),
		hostileEvent(t, t0.Add(20*time.Second), "state.is_leaderless", "")}
	if err := os.WriteFile(events, []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out, stderr, code := run(t, nil, "replay", "-c", config, "--extend", "1m", events)
	if code != 0 {
		t.Fatalf("exit %d\n%s%s", code, out, stderr)
	}
	if strings.Contains(out, "\x1b") {
		t.Errorf("the timeline sends an escape sequence to the terminal:\n%q", out)
	}
	for _, l := range strings.Split(strings.TrimSuffix(out, "\n"), "\n") {
		if !timelineLine.MatchString(l) || strings.HasPrefix(l, "1999") {
			t.Errorf("a line the timeline did not write: %q", l)
		}
	}
	escaped := `leader evil\n1999-01-01 00:00:00.000  c1           leader forged elected\x1b[31m <!channel>`
	if !strings.Contains(out, escaped) {
		t.Errorf("the timeline does not show the id escaped (%s):\n%s", escaped, out)
	}
}

// slackHook is an incoming webhook that keeps the messages posted to it.
type slackHook struct {
	mu    sync.Mutex
	texts []string
}

func (h *slackHook) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var msg struct{ Text string }
	body, _ := io.ReadAll(r.Body)
	json.Unmarshal(body, &msg)
	h.mu.Lock()
	h.texts = append(h.texts, msg.Text)
	h.mu.Unlock()
	io.WriteString(w, "ok")
}

func (h *slackHook) got() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]string(nil), h.texts...)
}

// startIngestDaemon runs leaderhook with cluster c1 taking events over
// HTTP (token t0k3n, bodies up to 2 MiB) and the given actions, and returns
// the events URL.
func startIngestDaemon(t *testing.T, actions, rules string) string {
	t.Helper()
	dir := t.TempDir()
	config := filepath.Join(dir, "rules.yaml")
	body := fmt.Sprintf(`server: {listen: "127.0.0.1:0", ingest_token: "${HOSTILE_TOKEN}", max_body_bytes: 2097152}
state_dir: %s/state
clusters:
  - {name: c1, stabilize: 0s, source: {type: events, http: true}}
actions:
%s
rules:
%s
`, dir, actions, rules)
	if err := os.WriteFile(config, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv("HOSTILE_TOKEN", "t0k3n")
	return startDaemon(t, config).baseURL(t) + "/v1/events?cluster=c1"
}

// (b) A Slack message shows a hostile id as text, in the default message
// and in what a text template inserts; the template's own markup stays.
func TestHostileLeaderIDInSlack(t *testing.T) {
	hook := &slackHook{}
	srv := httptest.NewServer(hook)
	defer srv.Close()
	events := startIngestDaemon(t, fmt.Sprintf(`  chat: {type: slack, webhook_url: "%[1]s/services/T0/B0/X"}
  custom: {type: slack, webhook_url: "%[1]s/services/T0/B0/Y", text: "<!here> lost {{ .PreviousLeaderID }}"}`, srv.URL),
		`  - {name: gone, when: leaderless, actions: [chat, custom]}`)
	now := time.Now()
	batch := hostileEvent(t, now, "state.has_leader", hostileID) + "\n" + hostileEvent(t, now.Add(time.Millisecond), "state.is_leaderless", "")
	if code, answer := post(t, events, "t0k3n", batch); code != http.StatusAccepted {
		t.Fatalf("POST: %d %s", code, answer)
	}
	waitFor(t, "two Slack messages", func() bool { return len(hook.got()) == 2 })
	escaped := `evil\n1999-01-01 00:00:00.000  c1           leader forged elected\x1b[31m &lt;!channel&gt; &lt;https://evil.example|x&gt; &amp;amp;`
	for _, text := range hook.got() {
		if strings.ContainsAny(text, "\n\x1b") || strings.Contains(text, "<!channel>") || strings.Contains(text, "<https://evil") {
			t.Errorf("the message carries the id's markup or control characters: %q", text)
		}
		if !strings.Contains(text, escaped) {
			t.Errorf("the message does not show the id escaped:\n%q\nwant it to contain\n%q", text, escaped)
		}
	}
	if texts := hook.got(); !strings.HasPrefix(texts[0], "<!here> lost ") && !strings.HasPrefix(texts[1], "<!here> lost ") {
		t.Errorf("the template's own mention is gone: %q", texts)
	}
}

// (c) A 1 MB leaderId is refused with its batch, naming the field; from a
// file, its line is reported and skipped.
func TestHostileHugeLeaderIDRefused(t *testing.T) {
	events := startIngestDaemon(t, `  note: {type: shell, command: [/bin/true]}`, `  - {name: gone, when: leaderless, actions: [note]}`)
	now := time.Now()
	huge := hostileEvent(t, now, "state.has_leader", strings.Repeat("x", 1<<20))
	for _, tc := range []struct{ name, batch, want string }{
		{"alone", huge, `line 1: \"leaderId\" is 1048576 bytes long, over the limit of 256 (nothing was accepted)`},
		{"after a good event", hostileEvent(t, now, "state.has_leader", "ctrl1") + "\n" + huge,
			`line 2: \"leaderId\" is 1048576 bytes long, over the limit of 256 (nothing was accepted)`},
	} {
		code, answer := postWithin(t, 20*time.Second, events, tc.batch)
		if code != http.StatusBadRequest || !strings.Contains(answer, tc.want) || len(answer) > 1000 {
			t.Errorf("%s: %d %.300s, want 400 with %s", tc.name, code, answer, tc.want)
		}
	}

	dir := t.TempDir()
	config := writeConfig(t, dir, `  note: {type: shell, command: [/bin/true]}`, `  - {name: gone, when: leaderless, actions: [note]}`)
	file := filepath.Join(dir, "events.jsonl")
	long := hostileEvent(t, now, "state.has_leader", strings.Repeat("x", 300))
	os.WriteFile(file, []byte(hostileEvent(t, now, "state.has_leader", "ctrl1")+"\n"+long+"\n"), 0o644)
	out, stderr, code := run(t, nil, "replay", "-c", config, "--format", "json", file)
	want := file + `:2: "leaderId" is 300 bytes long, over the limit of 256`
	if code != 1 || !strings.Contains(stderr, want) || strings.Count(out, `"kind":"state"`) != 1 {
		t.Errorf("replay: exit %d, want 1 with %s\n%s%s", code, want, out, stderr)
	}
}

// postWithin posts body with the token t0k3n and gives up after limit: a
// daemon that accepted a huge event may take long to answer.
func postWithin(t *testing.T, limit time.Duration, url, body string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest("POST", url, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer t0k3n")
	resp, err := (&http.Client{Timeout: limit}).Do(req)
	if err != nil {
		t.Fatalf("POST: %v", err)
	}
	defer resp.Body.Close()
	answer, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(answer)
}

// (d) fire of a shell action runs the script only with --yes when nobody
// can be asked; --dry-run shows it and runs nothing.
func TestHostileFireOfAShellAction(t *testing.T) {
	dir := t.TempDir()
	ran := filepath.Join(dir, "failover-ran")
	config := writeConfig(t, dir, fmt.Sprintf(`  failover: {type: shell, command: [/bin/sh, -c, 'touch "$0"', "%s"]}`, ran),
		`  - {name: gone, when: leaderless, actions: [failover]}`)
	exists := func() bool { _, err := os.Stat(ran); return err == nil }

	out, stderr, code := run(t, nil, "fire", "-c", config, "failover")
	if code != 2 || exists() || !strings.Contains(stderr, "pass --yes to run it, or --dry-run") {
		t.Errorf("without --yes: exit %d, ran %v\n%s%s", code, exists(), out, stderr)
	}
	out, stderr, code = run(t, nil, "fire", "-c", config, "failover", "--dry-run")
	if code != 0 || exists() || !strings.Contains(out, "nothing is run") || !strings.Contains(out, `argv: /bin/sh -c 'touch "$0"' `+ran) {
		t.Errorf("--dry-run: exit %d, ran %v\n%s%s", code, exists(), out, stderr)
	}
	out, stderr, code = run(t, nil, "fire", "-c", config, "failover", "--yes")
	if code != 0 || !exists() || !strings.Contains(out, "delivered firing to failover") {
		t.Errorf("--yes: exit %d, ran %v\n%s%s", code, exists(), out, stderr)
	}
}
