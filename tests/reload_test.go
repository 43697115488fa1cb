package tests

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"text/template"
	"time"
)

// reloadConfig touches every key a reload applies: a cluster's members and
// stabilize, a poll source's interval, clusters with file sources (added
// and removed), a script's concurrency and the ingest token.
var reloadConfig = template.Must(template.New("").Parse(`server: {listen: "127.0.0.1:0", ingest_token: {{.Token}}}
state_dir: {{.Dir}}/state
clusters:
  - {name: ziti, members: [{{.Members}}], stabilize: {{.Stabilize}}, source: {type: events, http: true}}
  - {name: scripted, stabilize: 0s, source: {type: events, http: true}}
  - {name: polled, stabilize: 0s, source: {type: poll, preset: consul, members: ["{{.Status}}"], interval: {{.Interval}}, timeout: 1s}}
{{range .Files}}  - {name: {{.}}, stabilize: 0s, source: {type: events, file: "{{$.Dir}}/{{.}}.jsonl"}}
{{end}}actions:
  failover: {type: shell, command: ["{{.Dir}}/failover.sh", "{{"{{"}} .LeaderID {{"}}"}}"], concurrency: {{.Concurrency}}, timeout: 1m}
rules:
  - {name: changed, clusters: [scripted], when: 'type == "state.has_leader"', actions: [failover]}
`))

type reloadVars struct {
	Dir, Token, Members, Stabilize, Status, Interval string
	Files                                            []string
	Concurrency                                      int
}

// TestReloadEveryWay: POST /-/reload, SIGHUP and an edit of the file each
// apply every key a reload applies, with the effect of each.
func TestReloadEveryWay(t *testing.T) {
	// For the first two, the edit keeps the file's modification time, so
	// that the daemon's watcher does not see it: the reload is theirs.
	ways := map[string]func(t *testing.T, d *daemon, base string){
		"POST /-/reload": func(t *testing.T, d *daemon, base string) {
			if code, body := post(t, base+"/-/reload", "old-t0ken", ""); code != 200 {
				t.Fatalf("reload: %d %s", code, body)
			}
		},
		"SIGHUP": func(t *testing.T, d *daemon, _ string) {
			if err := d.cmd.Process.Signal(syscall.SIGHUP); err != nil {
				t.Fatal(err)
			}
		},
		"a file edit": func(*testing.T, *daemon, string) {}, // the daemon watches the file
	}
	for name, reload := range ways {
		t.Run(name, func(t *testing.T) { testReloadEveryKey(t, reload, name == "a file edit") })
	}
}

func testReloadEveryKey(t *testing.T, reload func(t *testing.T, d *daemon, base string), touch bool) {
	var polls atomic.Int64
	status := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		polls.Add(1)
		fmt.Fprintf(w, "%q", "http://"+r.Host)
	}))
	defer status.Close()
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "failover.sh"), []byte(waitingScript), 0o755)
	v := reloadVars{Dir: dir, Token: "old-t0ken", Members: "c1, c2, c3", Stabilize: "1h", Status: status.URL, Interval: "1h",
		Files: []string{"old"}, Concurrency: 1}
	config := filepath.Join(dir, "rules.yaml")
	writeTemplate(t, config, reloadConfig, v, true)
	d := startDaemon(t, config)
	defer os.WriteFile(filepath.Join(dir, "release"), nil, 0o644)
	base := d.baseURL(t)
	before := reloadBefore(t, d, base, dir)

	v.Token, v.Members, v.Stabilize, v.Interval, v.Files, v.Concurrency = "new-t0ken", "c1, c2, c3, c4, c5", "0s", "20ms", []string{"new"}, 3
	writeTemplate(t, config, reloadConfig, v, touch)
	reload(t, d, base)
	waitFor(t, "the reload", func() bool { return strings.Contains(d.logs(), "config reloaded") }, d)
	reloadAfter(t, d, base, dir, before, &polls)
}

// reloadBefore sets the scene: ziti has leader c1 with 2 of 3 members, and
// c3's loss waits for an hour-long stabilize; the old file's cluster is
// known; one failover script runs and two wait. It returns the polls so
// far.
func reloadBefore(t *testing.T, d *daemon, base, dir string) map[string]bool {
	events := base + "/v1/events?cluster="
	post(t, events+"ziti", "old-t0ken", ev("c1", "state.has_leader", "c1")+"\n"+ev("c2", "state.has_leader", "c1"))
	appendEvent(t, filepath.Join(dir, "old.jsonl"), "state.has_leader", "m1")
	post(t, events+"scripted", "old-t0ken", ev("c1", "state.has_leader", "c1")) // the baseline
	for _, leader := range []string{"a", "b", "c"} {
		post(t, events+"scripted", "old-t0ken", ev("c1", "state.has_leader", leader))
	}
	waitFor(t, "the first script", func() bool { return started(dir) == 1 }, d)
	waitFor(t, "the old file's cluster", func() bool { return clusterState(t, base)["old"] }, d)
	if !clusterState(t, base)["ziti"] {
		t.Fatal("ziti has no leader before the reload")
	}
	return clusterState(t, base)
}

func reloadAfter(t *testing.T, d *daemon, base, dir string, before map[string]bool, polls *atomic.Int64) {
	waitFor(t, "ziti to lose its majority of 5", func() bool { return !clusterState(t, base)["ziti"] }, d)
	waitFor(t, "three scripts at once", func() bool { return started(dir) == 3 }, d)
	waitFor(t, "polls every 20ms", func() bool { return polls.Load() >= 5 }, d)
	appendEvent(t, filepath.Join(dir, "new.jsonl"), "state.has_leader", "m1")
	waitFor(t, "the new file's cluster", func() bool { return clusterState(t, base)["new"] }, d)
	if _, ok := clusterState(t, base)["old"]; ok {
		t.Error("the removed cluster is still watched")
	}
	if _, metrics := get(t, base+"/metrics"); strings.Contains(metrics, `cluster="old"`) {
		t.Errorf("the removed cluster is still in the metrics:\n%s", grepLines(metrics, `cluster="old"`))
	}
	events := base + "/v1/events?cluster=ziti"
	if code, _ := post(t, events, "old-t0ken", ev("c1", "state.has_leader", "c1")); code != 401 {
		t.Errorf("the rotated token: %d, want 401", code)
	}
	if code, body := post(t, events, "new-t0ken", ev("c1", "state.has_leader", "c1")); code != 202 {
		t.Errorf("the new token: %d %s", code, body)
	}
}

// clusterState maps each cluster in GET /v1/state to whether it has a
// leader.
func clusterState(t *testing.T, base string) map[string]bool {
	t.Helper()
	code, body := get(t, base+"/v1/state")
	var s struct {
		Clusters []struct {
			Name      string `json:"name"`
			HasLeader bool   `json:"has_leader"`
		} `json:"clusters"`
	}
	if code != 200 || json.Unmarshal([]byte(body), &s) != nil {
		t.Fatalf("state: %d %s", code, body)
	}
	out := map[string]bool{}
	for _, c := range s.Clusters {
		out[c.Name] = c.HasLeader
	}
	return out
}

// waitingScript says it started, then waits to be released (or for its
// directory to go, at the end of the test).
const waitingScript = `#!/bin/sh
dir=$(dirname "$0")
touch "$dir/started-$1"
while [ -d "$dir" ] && [ ! -e "$dir/release" ]; do sleep 0.02; done
`

func started(dir string) int {
	matches, _ := filepath.Glob(filepath.Join(dir, "started-*"))
	return len(matches)
}

// writeTemplate writes the file. With touch, its modification time is
// later than any before (an edit within one tick of a coarse clock is seen
// too); without, it keeps the one it had.
func writeTemplate(t *testing.T, path string, tmpl *template.Template, v any, touch bool) {
	t.Helper()
	var b bytes.Buffer
	if err := tmpl.Execute(&b, v); err != nil {
		t.Fatal(err)
	}
	mtime := time.Now().Add(time.Second)
	if info, err := os.Stat(path); err == nil && !touch {
		mtime = info.ModTime()
	}
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(path, mtime, mtime); err != nil {
		t.Fatal(err)
	}
}

// TestSIGHUPWhileStarting: a SIGHUP that comes while leaderhook still
// reads its config (systemctl reload just after start) does not kill it.
// The config is a FIFO, so that the test knows when it is being read.
func TestSIGHUPWhileStarting(t *testing.T) {
	dir := t.TempDir()
	config := filepath.Join(dir, "rules.yaml")
	if err := syscall.Mkfifo(config, 0o600); err != nil {
		t.Skip("no FIFO:", err)
	}
	content := fmt.Sprintf("server: {listen: \"127.0.0.1:0\"}\nstate_dir: %s/state\n"+
		"clusters:\n  - {name: ziti, source: {type: events, http: true}}\nrules: []\n", dir)
	d, exited := startProcess(t, "run", "-c", config, "--log-format", "json")
	// Opening the FIFO for writing returns once leaderhook opens it to read.
	opened := make(chan *os.File, 1)
	go func() {
		f, err := os.OpenFile(config, os.O_WRONLY, 0)
		if err != nil {
			t.Error(err)
		}
		opened <- f
	}()
	var w *os.File
	select {
	case w = <-opened:
	case err := <-exited:
		t.Fatalf("leaderhook exited before reading its config: %v\n%s", err, d.logs())
	case <-time.After(15 * time.Second):
		t.Fatalf("leaderhook did not read its config\n%s", d.logs())
	}
	if err := d.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	// Later reads (the reload) find a plain file with the same content.
	plain := filepath.Join(dir, "plain.yaml")
	os.WriteFile(plain, []byte(content), 0o644)
	if err := os.Rename(plain, config); err != nil {
		t.Fatal(err)
	}
	w.WriteString(content)
	w.Close()
	waitFor(t, "leaderhook to run", func() bool {
		select {
		case err := <-exited:
			t.Fatalf("leaderhook exited: %v\n%s", err, d.logs())
		default:
		}
		return strings.Contains(d.logs(), "leaderhook running")
	}, d)
	if err := d.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := <-exited; err != nil {
		t.Errorf("leaderhook: %v\n%s", err, d.logs())
	}
}

// startProcess starts leaderhook with args without waiting for it to run;
// the channel has its exit once its log is read.
func startProcess(t *testing.T, args ...string) (*daemon, <-chan error) {
	t.Helper()
	d := &daemon{cmd: exec.Command(binary, args...)}
	stderr, err := d.cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := d.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			d.mu.Lock()
			d.log.WriteString(sc.Text() + "\n")
			d.mu.Unlock()
		}
		exited <- d.cmd.Wait()
	}()
	t.Cleanup(func() { d.cmd.Process.Kill() })
	return d, exited
}
