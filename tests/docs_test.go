package tests

import (
	"bufio"
	"bytes"
	"crypto/x509"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/leaderhook/leaderhook/actions"
	"github.com/leaderhook/leaderhook/actions/shell"
	"github.com/leaderhook/leaderhook/config"
	"github.com/leaderhook/leaderhook/event"
	"github.com/leaderhook/leaderhook/internal/testpki"
	"github.com/leaderhook/leaderhook/pipeline"
	"github.com/leaderhook/leaderhook/rules"
	"github.com/leaderhook/leaderhook/ruletest"
)

// The docs tests keep docs/cookbook.md and docs/dry-run.md true: every YAML
// block goes through the code of `leaderhook check`, the Go program is
// built and run, and the commands of dry-run.md run with the output the
// page shows.

// mdBlock is one fenced code block of a Markdown file.
type mdBlock struct {
	lang string
	line int // line of the first line inside the fence, 1-based
	text string
	// afterBlock: only blank lines separate it from the previous block
	// (an output block right after its commands).
	afterBlock bool
}

func readBlocks(t *testing.T, path string) []mdBlock {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var blocks []mdBlock
	var cur *mdBlock
	var body []string
	between := ""
	for i, line := range strings.Split(string(data), "\n") {
		switch {
		case cur == nil && strings.HasPrefix(line, "```"):
			cur = &mdBlock{lang: strings.TrimSpace(strings.TrimPrefix(line, "```")), line: i + 2,
				afterBlock: len(blocks) > 0 && strings.TrimSpace(between) == ""}
			body = nil
		case cur != nil && strings.TrimSpace(line) == "```":
			cur.text = strings.Join(body, "\n") + "\n"
			blocks = append(blocks, *cur)
			cur, between = nil, ""
		case cur != nil:
			body = append(body, line)
		default:
			between += line
		}
	}
	if cur != nil {
		t.Fatalf("%s:%d: unclosed code block", path, cur.line-1)
	}
	return blocks
}

// docEnv stands in for the environment of the variables the docs use. A
// variable missing here fails the check, as an unset one fails `check`.
var docEnv = map[string]string{
	"SLACK_WEBHOOK_URL":      "https://hooks.slack.com/services/T000/B000/XXXXXXXXXXXX",
	"PAGER_URL":              "https://pager.example/hooks/leaderhook",
	"PAGE_SECRET":            "whsec_c2VjcmV0LXNlY3JldA==",
	"PAGERDUTY_ROUTING_KEY":  "R0UT1NGK3Y0000000000000000000000",
	"DISCORD_WEBHOOK_URL":    "https://discord.com/api/webhooks/123456789012345678/d1sc0rd-t0ken",
	"MATTERMOST_WEBHOOK_URL": "https://mattermost.example.com/hooks/xf7m4tt3rm0stk3y",
	"TELEGRAM_BOT_TOKEN":     "123456789:AAFt3l3gr4mB0tT0k3nXXXXXXXXXXXXXXXX",
	"TELEGRAM_CHAT_ID":       "-1001234567890",
	"HEARTBEAT_URL":          "https://hc-ping.example/5f0c1f55-ee1c-4ad0-9b8f-4fbc7b3bd3c4",
	"LEADERHOOK_TOKEN":       "doc-token-0123456789",
	"ZITI_USER":              "admin",
	"ZITI_PASSWORD":          "doc-password",
}

func docLookup(name string) (string, bool) {
	v, ok := docEnv[name]
	return v, ok
}

type quietSink struct{}

func (quietSink) State(event.Event)     {}
func (quietSink) Outcome(rules.Outcome) {}

// checkConfig validates a config as `leaderhook check` does (config.Parse
// is what config.Load calls), builds what `run` builds from it, and renders
// every action for a firing and a resolve. It returns the problems, each
// placed at its line in the doc when firstLine > 0.
func checkConfig(doc string, firstLine int, name, text string) []string {
	at := func(d config.Diagnostic) string {
		msg := d.Msg
		if d.Path != "" {
			msg = d.Path + ": " + msg
		}
		if firstLine > 0 && d.Line > 0 {
			return fmt.Sprintf("%s:%d: %s", doc, firstLine+d.Line-1, msg)
		}
		return fmt.Sprintf("%s (%s): %s", doc, name, msg)
	}
	cfg, res, err := config.Parse(name, []byte(text), docLookup)
	var problems []string
	if res != nil {
		for _, w := range res.Warnings {
			// A script that does not exist on this machine is expected.
			if !strings.HasSuffix(w.Path, ".command[0]") {
				problems = append(problems, at(w)+" (warning)")
			}
		}
	}
	var list *config.Errors
	if errors.As(err, &list) {
		for _, d := range list.Diagnostics {
			problems = append(problems, at(d))
		}
		return problems
	} else if err != nil {
		return append(problems, fmt.Sprintf("%s (%s): %v", doc, name, err))
	}
	targets, err := pipeline.Targets(cfg, cfg.StateDir, nil, nil)
	if err != nil {
		return append(problems, fmt.Sprintf("%s (%s): actions: %v", doc, name, err))
	}
	log := slog.New(slog.DiscardHandler)
	if _, err := pipeline.New(cfg, "", quietSink{}, log); err != nil {
		return append(problems, fmt.Sprintf("%s (%s): rules: %v", doc, name, err))
	}
	for _, action := range slices.Sorted(maps.Keys(cfg.Actions)) {
		for _, status := range []string{actions.StatusFiring, actions.StatusResolved} {
			// A leader id with a quote: templates must escape event data.
			n := actions.Notification{Rule: "doc-rule", Status: status, Cluster: cfg.Clusters[0].Name,
				FiredAt: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), EventType: event.Leaderless,
				Event: map[string]any{"eventType": event.Leaderless}, PreviousLeaderID: `ctrl"1`,
				Leaderless: true, LeaderlessFor: 30 * time.Second, DryRun: true}
			for _, r := range pipeline.Render(targets, n, []string{action}) {
				if r.Error != "" {
					problems = append(problems, fmt.Sprintf("%s (%s): action %s (%s): %s", doc, name, action, status, r.Error))
				}
				if kind := cfg.Actions[action].Type; kind != shell.Name && r.Body != "" && !json.Valid([]byte(r.Body)) {
					problems = append(problems, fmt.Sprintf("%s (%s): action %s (%s): the body is not JSON:\n%s", doc, name, action, status, r.Body))
				}
			}
		}
	}
	return problems
}

// mergeYAML adds a fragment's top-level keys to a complete config: list
// items are appended (rules), mapping entries added or replaced (actions,
// windows). That is how the cookbook says its fragments are used.
func mergeYAML(base, fragment string) (string, error) {
	var b, f yaml.Node
	if err := yaml.Unmarshal([]byte(base), &b); err != nil {
		return "", err
	}
	if err := yaml.Unmarshal([]byte(fragment), &f); err != nil {
		return "", err
	}
	broot, froot := b.Content[0], f.Content[0]
	for i := 0; i+1 < len(froot.Content); i += 2 {
		key, val := froot.Content[i], froot.Content[i+1]
		existing := mappingValue(broot, key.Value)
		switch {
		case existing == nil:
			broot.Content = append(broot.Content, key, val)
		case existing.Kind == yaml.SequenceNode && val.Kind == yaml.SequenceNode:
			existing.Content = append(existing.Content, val.Content...)
		case existing.Kind == yaml.MappingNode && val.Kind == yaml.MappingNode:
			for j := 0; j+1 < len(val.Content); j += 2 {
				if old := mappingValue(existing, val.Content[j].Value); old != nil {
					*old = *val.Content[j+1]
				} else {
					existing.Content = append(existing.Content, val.Content[j], val.Content[j+1])
				}
			}
		default:
			return "", fmt.Errorf("%s: cannot merge a %v into a %v", key.Value, val.Kind, existing.Kind)
		}
	}
	out, err := yaml.Marshal(&b)
	return string(out), err
}

func mappingValue(m *yaml.Node, key string) *yaml.Node {
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return m.Content[i+1]
		}
	}
	return nil
}

func topKeys(t *testing.T, text string) map[string]bool {
	t.Helper()
	var m map[string]any
	if err := yaml.Unmarshal([]byte(text), &m); err != nil {
		t.Fatalf("not YAML: %v\n%s", err, text)
	}
	keys := map[string]bool{}
	for k := range m {
		keys[k] = true
	}
	return keys
}

// foreign reports whether a YAML block is another program's config (the
// page says so on its first line), not leaderhook's.
func foreign(b mdBlock) bool {
	first, _, _ := strings.Cut(b.text, "\n")
	return strings.HasPrefix(first, "#") && strings.Contains(first, "not leaderhook")
}

// savedAs returns the file name a YAML block's first line gives it
// ("# rules.yaml: ..."), or "".
var savedAsRE = regexp.MustCompile(`^# ([\w.-]+\.ya?ml)\b`)

func savedAs(b mdBlock) string {
	if m := savedAsRE.FindStringSubmatch(b.text); m != nil {
		return m[1]
	}
	return ""
}

// TestDocsCookbookConfigs checks every YAML block of the cookbook with the
// code of `leaderhook check`. Complete files are checked as they are; a
// fragment (no clusters:) is merged into every complete file above it.
func TestDocsCookbookConfigs(t *testing.T) {
	const doc = "docs/cookbook.md"
	type file struct {
		name, text string
		line       int
	}
	var files []file
	presets, sources := map[string]bool{}, map[string]bool{}
	fragments := 0
	nodeFiles := cookbookNodeFiles(t)
	for _, b := range readBlocks(t, "../"+doc) {
		if b.lang != "yaml" || foreign(b) {
			continue
		}
		b.text = nodeFiles.Replace(b.text)
		keys := topKeys(t, b.text)
		if keys["clusters"] {
			name := savedAs(b)
			if name == "" {
				t.Errorf("%s:%d: a complete file should say its name on its first line (# name.yaml: ...)", doc, b.line)
				name = fmt.Sprintf("line%d.yaml", b.line)
			}
			problems := checkConfig(doc, b.line, name, b.text)
			for _, p := range problems {
				t.Error(p)
			}
			if len(problems) == 0 { // fragments are tried on good files only
				files = append(files, file{name, b.text, b.line})
			}
			cfg, _, err := config.Parse(name, []byte(b.text), docLookup)
			if err == nil {
				for _, c := range cfg.Clusters {
					sources[c.Source.Type] = true
					presets[c.Source.Preset] = true
				}
			}
			continue
		}
		fragments++
		if len(files) == 0 {
			t.Errorf("%s:%d: a fragment before any complete file", doc, b.line)
		}
		for _, f := range files {
			merged, err := mergeYAML(f.text, b.text)
			if err != nil {
				t.Errorf("%s:%d: merging into %s: %v", doc, b.line, f.name, err)
				continue
			}
			for _, p := range checkConfig(doc, 0, fmt.Sprintf("block at line %d added to %s", b.line, f.name), merged) {
				t.Error(p)
			}
		}
	}
	// Every system the cookbook promises has a complete file.
	for _, want := range []string{"openziti", "etcd", "rqlite", "consul", "nomad", "vault", "generic"} {
		if !presets[want] {
			t.Errorf("%s: no complete file polls with preset %s", doc, want)
		}
	}
	for _, want := range []string{"events", "poll", "raft"} {
		if !sources[want] {
			t.Errorf("%s: no complete file uses a %s source", doc, want)
		}
	}
	if len(files) < 8 || fragments < 2 {
		t.Errorf("%s: %d complete files and %d fragments checked; the page has more", doc, len(files), fragments)
	}
}

// cookbookNodeFiles stands in for the certificate files the cookbook names
// on a node (/etc/leaderhook/...), as docEnv does for the environment:
// check loads them, so they must exist where the config is checked.
func cookbookNodeFiles(t *testing.T) *strings.Replacer {
	ca := testpki.New(t)
	cert, key := ca.Issue("ctrl1", x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth)
	return strings.NewReplacer("/etc/leaderhook/ctrl1.pem", cert, "/etc/leaderhook/ctrl1-key.pem", key, "/etc/leaderhook/ca.pem", ca.File)
}

// TestDocsCheckRejectsUnknownKeys proves the check above would catch a
// snippet with a key that does not exist, in a file and in a fragment.
func TestDocsCheckRejectsUnknownKeys(t *testing.T) {
	var complete, fragment string
	for _, b := range readBlocks(t, "../docs/cookbook.md") {
		if b.lang != "yaml" || foreign(b) {
			continue
		}
		if topKeys(t, b.text)["clusters"] {
			if complete == "" {
				complete = b.text
			}
		} else if fragment == "" {
			fragment = b.text
		}
	}
	if complete == "" || fragment == "" {
		t.Fatal("the cookbook has no complete file or no fragment")
	}
	if p := checkConfig("cookbook", 1, "ok.yaml", complete); len(p) > 0 {
		t.Fatalf("the first file does not pass as it is: %v", p)
	}
	// A typo'd key in the first rule: "cooldown" written "cooldwn".
	typo := func(text string) string {
		i := strings.Index(text, "\n  - name: ")
		j := i + 1 + strings.Index(text[i+1:], "\n")
		return text[:j] + "\n    cooldwn: 5m" + text[j:]
	}
	p := checkConfig("cookbook", 1, "typo.yaml", typo(complete))
	if len(p) == 0 || !strings.Contains(strings.Join(p, "\n"), "cooldwn") {
		t.Errorf("an unknown rule key in a file went through: %v", p)
	}
	merged, err := mergeYAML(complete, typo(fragment))
	if err != nil {
		t.Fatal(err)
	}
	p = checkConfig("cookbook", 0, "typo-fragment", merged)
	if len(p) == 0 || !strings.Contains(strings.Join(p, "\n"), "cooldwn") {
		t.Errorf("an unknown rule key in a fragment went through: %v", p)
	}
}

// TestDocsCookbookShell checks the syntax of the cookbook's shell snippets
// (the forwarder, the scripts) and the flags of its leaderhook commands.
func TestDocsCookbookShell(t *testing.T) {
	n := 0
	for _, b := range readBlocks(t, "../docs/cookbook.md") {
		if b.lang != "sh" {
			continue
		}
		n++
		cmd := exec.Command("bash", "-n")
		cmd.Stdin = strings.NewReader(b.text)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("docs/cookbook.md:%d: bash -n: %v\n%s", b.line, err, out)
		}
		for _, c := range commands(b.text) {
			checkFlags(t, "docs/cookbook.md", b.line, c)
		}
	}
	if n < 3 {
		t.Errorf("only %d shell blocks", n)
	}
}

// commands returns the command lines of a shell block, continuations
// joined, comments and blank lines left out.
func commands(text string) []string {
	var out []string
	cur := ""
	for _, line := range strings.Split(text, "\n") {
		if cur == "" && (strings.TrimSpace(line) == "" || strings.HasPrefix(strings.TrimSpace(line), "#")) {
			continue
		}
		if strings.HasSuffix(line, "\\") {
			cur += strings.TrimSuffix(line, "\\")
			continue
		}
		out = append(out, cur+line)
		cur = ""
	}
	return out
}

// checkFlags checks that every flag given to a leaderhook command is one
// its --help lists: commands that the tests cannot run stay right too.
func checkFlags(t *testing.T, doc string, line int, command string) {
	t.Helper()
	for _, part := range strings.FieldsFunc(command, func(r rune) bool { return r == '|' || r == ';' || r == '&' }) {
		fields := strings.Fields(part)
		for len(fields) > 0 && strings.Contains(fields[0], "=") {
			fields = fields[1:] // VAR=value before the command
		}
		if len(fields) < 2 || fields[0] != "leaderhook" {
			continue
		}
		help, _, _ := run(t, nil, fields[1], "--help")
		for _, f := range fields[2:] {
			if !strings.HasPrefix(f, "-") || f == "-" {
				continue
			}
			name, _, _ := strings.Cut(f, "=")
			if !regexp.MustCompile(`(^|[\s,])` + regexp.QuoteMeta(name) + `\b`).MatchString(help) {
				t.Errorf("%s:%d: leaderhook %s has no flag %s", doc, line, fields[1], name)
			}
		}
	}
}

// TestDocsCookbookGoProgram builds the cookbook's Go program in a module
// of its own that uses this checkout, runs it with the cookbook's config,
// and checks that it serves its leader and logs what the page says.
func TestDocsCookbookGoProgram(t *testing.T) {
	const doc = "docs/cookbook.md"
	var program, config string
	for _, b := range readBlocks(t, "../"+doc) {
		switch {
		case b.lang == "go" && program == "":
			program = b.text
		case b.lang == "go":
			t.Errorf("%s:%d: a second Go block; this test builds one", doc, b.line)
		case b.lang == "yaml" && savedAs(b) == "orders-leaderhook.yaml":
			config = b.text
		}
	}
	if program == "" || config == "" {
		t.Fatal("the cookbook lacks its Go program or orders-leaderhook.yaml")
	}
	repo, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	gomod, err := os.ReadFile(filepath.Join(repo, "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	// The checkout's requirements, so that nothing is downloaded.
	mod := strings.Replace(string(gomod), "module github.com/leaderhook/leaderhook", "module example.com/orders", 1) +
		"\nrequire github.com/leaderhook/leaderhook v0.0.0\n\nreplace github.com/leaderhook/leaderhook => " + repo + "\n"
	sum, err := os.ReadFile(filepath.Join(repo, "go.sum"))
	if err != nil {
		t.Fatal(err)
	}
	for name, data := range map[string]string{"go.mod": mod, "go.sum": string(sum), "main.go": program, "orders-leaderhook.yaml": config} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if out, err := exec.Command("gofmt", "-l", filepath.Join(dir, "main.go")).CombinedOutput(); err != nil || len(out) > 0 {
		t.Errorf("%s: the Go program is not gofmt'ed: %v %s", doc, err, out)
	}
	build := exec.Command("go", "build", "-o", "orders", ".")
	build.Dir = dir
	build.Env = append(os.Environ(), "GOFLAGS=-mod=mod -buildvcs=false", "GOPROXY=off", "GOWORK=off")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("%s: the Go program does not build: %v\n%s", doc, err, out)
	}

	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	cmd := exec.Command(filepath.Join(dir, "orders"), "-c", "orders-leaderhook.yaml", "-listen", addr)
	cmd.Dir = dir
	cmd.Env = os.Environ()
	for k, v := range docEnv {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	var logs lockedBuffer // written by exec's copying goroutine, read here
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	var got map[string]string
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		resp, err := http.Get("http://" + addr + "/raft/leader")
		if err != nil {
			continue
		}
		got = nil
		json.NewDecoder(resp.Body).Decode(&got)
		resp.Body.Close()
		if got["leader_id"] == "node1" {
			break
		}
	}
	if got["leader_id"] != "node1" || got["id"] != "node1" {
		t.Errorf("GET /raft/leader: %v, want node1 as leader", got)
	}
	const logged = `msg="cluster state" cluster=orders type=state.has_leader leader=node1`
	for deadline := time.Now().Add(10 * time.Second); !strings.Contains(logs.String(), logged); time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			break // reported below, with the logs
		}
	}
	cmd.Process.Signal(syscall.SIGINT)
	if err := cmd.Wait(); err != nil {
		t.Errorf("the program did not stop cleanly on SIGINT: %v\n%s", err, logs.String())
	}
	if !strings.Contains(logs.String(), logged) {
		t.Errorf("the program did not log %s:\n%s", logged, logs.String())
	}
	if data, _ := os.ReadFile("../" + doc); !strings.Contains(string(data), "`"+logged) {
		t.Errorf("%s no longer quotes the log line %s", doc, logged)
	}
}

// dryRunSkipped are the commands of dry-run.md that need a live cluster, run
// forever or send for real. Their flags are still checked.
var dryRunSkipped = []string{
	"make build && export PATH=$PWD/bin:$PATH", // the test puts its own build on PATH
	"leaderhook record -c /etc/leaderhook/rules.yaml -o drill.jsonl",
	"LEADERHOOK_STATE_DIR=/var/tmp/leaderhook-shadow LEADERHOOK_SERVER__LISTEN=127.0.0.1:9465 leaderhook run -c rules.yaml --dry-run",
	"leaderhook fire -c rules.yaml page",
}

// TestDocsDryRun runs the commands of docs/dry-run.md in a directory that
// holds what a checkout holds, with the files the page says to save, and
// checks each output the page shows, line by line and in order.
func TestDocsDryRun(t *testing.T) {
	const doc = "docs/dry-run.md"
	dir := t.TempDir()
	for _, d := range []string{"testdata/openziti-1", "examples"} {
		if err := os.CopyFS(filepath.Join(dir, d), os.DirFS(filepath.Join("..", d))); err != nil {
			t.Fatal(err)
		}
	}
	env := append(os.Environ(), "PATH="+filepath.Dir(binary)+string(os.PathListSeparator)+os.Getenv("PATH"))
	skipped := map[string]bool{}
	var saved []string
	var testFile string
	var output string // of the last shell block
	var last mdBlock
	for _, b := range readBlocks(t, "../"+doc) {
		switch b.lang {
		case "yaml":
			name := savedAs(b)
			if name == "" {
				t.Errorf("%s:%d: a YAML block that says no file name (# name.yaml: ...)", doc, b.line)
				continue
			}
			if err := os.WriteFile(filepath.Join(dir, name), []byte(b.text), 0o644); err != nil {
				t.Fatal(err)
			}
			saved = append(saved, name)
			if topKeys(t, b.text)["clusters"] {
				for _, p := range checkConfig(doc, b.line, name, b.text) {
					t.Error(p)
				}
			} else if topKeys(t, b.text)["tests"] {
				testFile = b.text
			}
		case "sh":
			output = ""
			for _, c := range commands(b.text) {
				checkFlags(t, doc, b.line, c)
				if slices.Contains(dryRunSkipped, c) {
					skipped[c] = true
					continue
				}
				cmd := exec.Command("bash", "-c", c)
				cmd.Dir, cmd.Env = dir, env
				var out bytes.Buffer
				cmd.Stdout, cmd.Stderr = &out, &out
				err := cmd.Run()
				// A command that shows its exit status may fail.
				if err != nil && !strings.Contains(c, `echo "exit $?"`) {
					t.Errorf("%s:%d: %s: %v\n%s", doc, b.line, c, err, out.String())
				}
				output += out.String()
			}
		case "text":
			if last.lang != "sh" || !b.afterBlock {
				t.Errorf("%s:%d: an output block not right after the commands it shows", doc, b.line)
				continue
			}
			if missing, n := subsequence(b.text, output); missing != "" {
				t.Errorf("%s:%d: the output lacks line %d of the block, %q (or it is out of order); got:\n%s", doc, b.line+n, n+1, missing, output)
			}
		default:
			t.Errorf("%s:%d: a %q block: this test knows sh, text and yaml", doc, b.line, b.lang)
		}
		last = b
	}
	for _, c := range dryRunSkipped {
		if !skipped[c] {
			t.Errorf("%s no longer has the command %q (update dryRunSkipped)", doc, c)
		}
	}
	if !slices.Contains(saved, "rules.yaml") || testFile == "" {
		t.Fatalf("%s: want rules.yaml and a test file, saved %v", doc, saved)
	}

	// The page says the recording replays as the three files do.
	a, _, code1 := runIn(t, dir, "replay", "-c", "rules.yaml", "--format", "json", "incident.jsonl")
	b, _, code2 := runIn(t, dir, "replay", "-c", "rules.yaml", "--format", "json",
		"testdata/openziti-1/events-ctrl1.jsonl", "testdata/openziti-1/events-ctrl2.jsonl", "testdata/openziti-1/events-ctrl3.jsonl")
	if code1 != 0 || code2 != 0 || a != b || a == "" {
		t.Errorf("the recording does not replay like the three files (exit %d, %d):\n%s\nvs\n%s", code1, code2, a, b)
	}
	// The JUnit report of the CI section.
	data, err := os.ReadFile(filepath.Join(dir, "leaderhook-junit.xml"))
	var report struct {
		Suites []struct {
			Tests    int `xml:"tests,attr"`
			Failures int `xml:"failures,attr"`
			Cases    []struct {
				Name string `xml:"name,attr"`
			} `xml:"testcase"`
		} `xml:"testsuite"`
	}
	if err != nil || xml.Unmarshal(data, &report) != nil || len(report.Suites) != 1 || report.Suites[0].Tests != len(report.Suites[0].Cases) || report.Suites[0].Failures != 0 {
		t.Errorf("leaderhook-junit.xml: %v %+v\n%s", err, report, data)
	}
	checkTestFileFormat(t, doc, testFile)
	checkReplayFlags(t, doc)
}

// runIn runs the binary in dir.
func runIn(t *testing.T, dir string, args ...string) (string, string, int) {
	t.Helper()
	cmd := exec.Command(binary, args...)
	cmd.Dir = dir
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		return stdout.String(), stderr.String(), exit.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return stdout.String(), stderr.String(), 0
}

// subsequence checks that the lines of want appear in got in order. "..."
// stands for any lines; a line ending in "…" is a prefix. It returns the
// first line not found and its index.
func subsequence(want, got string) (string, int) {
	var lines []string
	sc := bufio.NewScanner(strings.NewReader(got))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		lines = append(lines, strings.TrimRight(sc.Text(), " "))
	}
	next := 0
	for i, w := range strings.Split(strings.TrimRight(want, "\n"), "\n") {
		w = strings.TrimRight(w, " ")
		if w == "" || w == "..." {
			continue
		}
		prefix, isPrefix := strings.CutSuffix(w, "…")
		found := false
		for next < len(lines) {
			l := lines[next]
			next++
			if l == w || (isPrefix && strings.HasPrefix(l, prefix)) {
				found = true
				break
			}
		}
		if !found {
			return w, i
		}
	}
	return "", 0
}

// checkTestFileFormat: the page's test file uses every key of the format,
// and its key table lists every key (both from the ruletest types).
func checkTestFileFormat(t *testing.T, doc, testFile string) {
	t.Helper()
	keys := formatKeys(reflect.TypeFor[ruletest.File](), "")
	if len(keys) < 15 {
		t.Fatalf("found only %d keys in ruletest.File: %v", len(keys), keys)
	}
	var tree any
	if err := yaml.Unmarshal([]byte(testFile), &tree); err != nil {
		t.Fatal(err)
	}
	used := map[string]bool{}
	usedKeys(tree, "", used)
	page, err := os.ReadFile("../" + doc)
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range keys {
		if !used[k] {
			t.Errorf("%s: the test file does not use the key %s", doc, k)
		}
		if !strings.Contains(string(page), "| `"+k+"` |") {
			t.Errorf("%s: the key table lacks %s", doc, k)
		}
	}
	for k := range used {
		if !slices.Contains(keys, k) && !slices.ContainsFunc(keys, func(s string) bool { return strings.HasPrefix(s, k+".") || strings.HasPrefix(s, k+"[]") }) && !strings.HasPrefix(k, "env.") && !strings.HasPrefix(k, "tests[].expect[].labels.") {
			t.Errorf("%s: the test file uses %s, which the format does not have", doc, k)
		}
	}
}

// formatKeys lists the yaml keys of a ruletest type, "tests[].events[].at"
// style; a key holding other ruletest structs is not listed itself, except
// when it must be given (expect); nor is one holding a ruletest struct
// (tests[].events[].expect), whose keys are.
func formatKeys(typ reflect.Type, prefix string) []string {
	var out []string
	for i := range typ.NumField() {
		f := typ.Field(i)
		tag, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if tag == "" || tag == "-" {
			continue
		}
		ft := f.Type
		for ft.Kind() == reflect.Pointer {
			ft = ft.Elem()
		}
		path := prefix + tag
		if ft.Kind() == reflect.Slice && ft.Elem().Kind() == reflect.Struct && ft.Elem().PkgPath() == typ.PkgPath() {
			if f.Type.Kind() == reflect.Pointer {
				out = append(out, path)
			}
			out = append(out, formatKeys(ft.Elem(), path+"[].")...)
			continue
		}
		if ft.Kind() == reflect.Struct && ft.PkgPath() == typ.PkgPath() {
			out = append(out, formatKeys(ft, path+".")...)
			continue
		}
		out = append(out, path)
	}
	return out
}

func usedKeys(v any, prefix string, used map[string]bool) {
	switch v := v.(type) {
	case map[string]any:
		for k, x := range v {
			used[prefix+k] = true
			usedKeys(x, prefix+k+".", used)
		}
	case []any:
		p := strings.TrimSuffix(prefix, ".") + "[]."
		for _, x := range v {
			usedKeys(x, p, used)
		}
	}
}

// checkReplayFlags: every flag in the page's table of replay flags exists.
func checkReplayFlags(t *testing.T, doc string) {
	t.Helper()
	data, err := os.ReadFile("../" + doc)
	if err != nil {
		t.Fatal(err)
	}
	help, _, _ := run(t, nil, "replay", "--help")
	n := 0
	for _, m := range regexp.MustCompile("(?m)^\\| `(--[a-z-]+)").FindAllStringSubmatch(string(data), -1) {
		n++
		if !strings.Contains(help, m[1]+" ") {
			t.Errorf("%s: replay has no flag %s", doc, m[1])
		}
	}
	if n < 4 {
		t.Errorf("%s: found %d replay flags in the table", doc, n)
	}
}

// lockedBuffer is a bytes.Buffer that a child process's output goroutine
// may write while the test reads it.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
