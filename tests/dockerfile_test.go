package tests

import (
	"debug/elf"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// No Docker engine runs here, so the image's build step is checked by
// running exactly the Dockerfile's build command: the binary must be
// static (it runs on distroless/static) and work.
func TestDockerfileBuild(t *testing.T) {
	data, err := os.ReadFile("../Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	df := string(data)
	m := regexp.MustCompile(`(?m)^RUN (CGO_ENABLED=0 go build .*) -o /out/leaderhook (\./cmd/leaderhook)$`).FindStringSubmatch(df)
	if m == nil {
		t.Fatal("the Dockerfile has no `RUN CGO_ENABLED=0 go build ... -o /out/leaderhook ./cmd/leaderhook` line")
	}
	// docker build without --build-arg gives ARG VERSION its default.
	version := regexp.MustCompile(`(?m)^ARG VERSION=(\S+)$`).FindStringSubmatch(df)
	if version == nil || !strings.Contains(m[1], "-X main.version=${VERSION}") {
		t.Fatal("the build command does not set main.version from ARG VERSION=default")
	}
	// The default, then a --build-arg: -X must reach `leaderhook version`.
	// The second build only relinks.
	for _, v := range []string{version[1], "v9.9.9-test"} {
		out := filepath.Join(t.TempDir(), "leaderhook")
		cmd := exec.Command("sh", "-c", m[1]+" -o "+out+" "+m[2])
		cmd.Dir = ".."
		cmd.Env = append(os.Environ(), "VERSION="+v)
		if msg, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("%s: %v\n%s", m[1], err, msg)
		}
		f, err := elf.Open(out)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range f.Progs {
			if p.Type == elf.PT_INTERP {
				t.Error("the binary is dynamically linked: it will not run on distroless/static")
			}
		}
		if libs, _ := f.ImportedLibraries(); len(libs) > 0 {
			t.Errorf("the binary needs %v", libs)
		}
		f.Close()
		if got, err := exec.Command(out, "version").Output(); err != nil || !strings.HasPrefix(string(got), "leaderhook "+v+" ") {
			t.Errorf("VERSION=%s: the built binary says %q (%v), want leaderhook %s", v, got, err, v)
		}
	}
	for _, want := range []string{"FROM gcr.io/distroless/static", "USER nonroot", "HEALTHCHECK", `ENTRYPOINT ["/usr/local/bin/leaderhook"]`, "VOLUME", "/etc/leaderhook", "/var/lib/leaderhook"} {
		if !strings.Contains(df, want) {
			t.Errorf("the Dockerfile lacks %q", want)
		}
	}
}

// instruction is one Dockerfile instruction, continuation lines joined.
type instruction struct {
	cmd  string // upper case: COPY, RUN, ...
	args string
	line int
}

// stage is one FROM ... section of a Dockerfile.
type stage struct {
	name string // AS name, or ""
	ins  []instruction
}

func parseDockerfile(t *testing.T, text string) []stage {
	t.Helper()
	var stages []stage
	var cur strings.Builder
	start := 0
	flush := func() {
		s := strings.TrimSpace(cur.String())
		cur.Reset()
		if s == "" {
			return
		}
		cmd, args, _ := strings.Cut(s, " ")
		in := instruction{cmd: strings.ToUpper(cmd), args: strings.TrimSpace(args), line: start}
		if in.cmd == "FROM" {
			f := strings.Fields(in.args)
			st := stage{}
			if len(f) == 3 && strings.EqualFold(f[1], "AS") {
				st.name = f[2]
			}
			stages = append(stages, st)
			return
		}
		if len(stages) == 0 {
			t.Fatalf("Dockerfile:%d: %s before FROM", in.line, in.cmd)
		}
		stages[len(stages)-1].ins = append(stages[len(stages)-1].ins, in)
	}
	for i, l := range strings.Split(text, "\n") {
		trimmed := strings.TrimSpace(l)
		if strings.HasPrefix(trimmed, "#") || trimmed == "" && cur.Len() == 0 {
			continue
		}
		if cur.Len() == 0 {
			start = i + 1
		}
		if s, ok := strings.CutSuffix(trimmed, `\`); ok {
			cur.WriteString(s + " ")
			continue
		}
		cur.WriteString(trimmed)
		flush()
	}
	flush()
	return stages
}

// listArgs reads an instruction's arguments in JSON or space form.
func listArgs(args string) []string {
	var list []string
	if json.Unmarshal([]byte(args), &list) == nil {
		return list
	}
	return strings.Fields(args)
}

// distroless's nonroot user and group.
const nonrootUID = "65532"

func isNonroot(s string) bool { return s == "nonroot" || s == nonrootUID }

// A named volume starts as a copy of the image's directory, owner included:
// if the image has /var/lib/leaderhook owned by root, the daemon (uid 65532)
// cannot create its state there and the container restarts in a loop.
func TestDockerfileStateVolumeWritable(t *testing.T) {
	data, err := os.ReadFile("../Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	stages := parseDockerfile(t, string(data))
	if len(stages) < 2 {
		t.Fatalf("want a build stage and a runtime stage, got %d stages", len(stages))
	}
	runtime := stages[len(stages)-1]

	// The last USER wins at run time.
	user := ""
	for _, in := range runtime.ins {
		if in.cmd == "USER" {
			user = in.args
		}
	}
	u, g, _ := strings.Cut(user, ":")
	if !isNonroot(u) || g != "" && !isNonroot(g) {
		t.Errorf("runtime USER is %q: want nonroot or %s (root may not be the daemon's user)", user, nonrootUID)
	}

	// The state volume is the one the daemon works in: its default
	// state_dir is relative.
	workdir, volumeAt := "", -1
	var volumes []string
	for i, in := range runtime.ins {
		switch in.cmd {
		case "WORKDIR":
			workdir = path.Clean(in.args)
		case "VOLUME":
			if volumeAt < 0 {
				volumeAt = i
			}
			for _, v := range listArgs(in.args) {
				volumes = append(volumes, path.Clean(v))
			}
		}
	}
	stateDir := ""
	for _, v := range volumes {
		if v == workdir {
			stateDir = v
		}
	}
	if stateDir == "" {
		t.Fatalf("WORKDIR %q is not one of the volumes %v: the default state_dir (./leaderhook-state) would not be kept", workdir, volumes)
	}

	// Before VOLUME, a COPY --chown=nonroot must create stateDir, and
	// nothing may create it as root first (WORKDIR, an earlier COPY into it):
	// COPY into an existing directory does not change its owner.
	created := false
	for _, in := range runtime.ins[:volumeAt] {
		f := strings.Fields(in.args)
		var dest, from, chown string
		var srcs []string
		if in.cmd == "COPY" || in.cmd == "ADD" {
			for len(f) > 0 && strings.HasPrefix(f[0], "--") {
				k, v, _ := strings.Cut(f[0], "=")
				switch k {
				case "--from":
					from = v
				case "--chown":
					chown = v
				}
				f = f[1:]
			}
			if len(f) >= 2 {
				dest, srcs = path.Clean(f[len(f)-1]), f[:len(f)-1]
			}
		}
		switch {
		case in.cmd == "WORKDIR" && !created && (path.Clean(in.args) == stateDir || strings.HasPrefix(path.Clean(in.args), stateDir+"/")):
			t.Errorf("Dockerfile:%d: WORKDIR creates %s owned by root before it is created owned by nonroot", in.line, stateDir)
		case dest == stateDir || strings.HasPrefix(dest, stateDir+"/"):
			cu, cg, _ := strings.Cut(chown, ":")
			switch {
			case created:
			case dest != stateDir:
				t.Errorf("Dockerfile:%d: COPY to %s creates %s owned by root", in.line, dest, stateDir)
			case !isNonroot(cu) || !isNonroot(cg):
				t.Errorf("Dockerfile:%d: %s is created with --chown=%q, want %s:%s", in.line, stateDir, chown, nonrootUID, nonrootUID)
			default:
				created = true
				checkMadeInStage(t, stages, from, srcs)
			}
		}
	}
	if !created && !t.Failed() {
		t.Errorf("no COPY --chown=%s:%s ... %s before VOLUME: a named volume would be owned by root", nonrootUID, nonrootUID, stateDir)
	}
}

// checkMadeInStage checks that COPY --from=stage's sources are made there.
func checkMadeInStage(t *testing.T, stages []stage, from string, srcs []string) {
	t.Helper()
	if from == "" {
		return // from the context
	}
	for _, st := range stages {
		if st.name != from {
			continue
		}
		for _, src := range srcs {
			made := false
			for _, in := range st.ins {
				if in.cmd == "RUN" && strings.Contains(in.args, "mkdir") && strings.Contains(in.args, src) {
					made = true
				}
			}
			if !made {
				t.Errorf("stage %s has no RUN mkdir ... %s", from, src)
			}
		}
		return
	}
	t.Errorf("COPY --from=%s: no such stage", from)
}

// Environment overrides win over the config file: the image may set only
// what a container needs, and its health check must read the config the
// daemon runs with, so that it asks where the daemon listens.
func TestDockerfileEnvAndHealthcheck(t *testing.T) {
	data, err := os.ReadFile("../Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	stages := parseDockerfile(t, string(data))
	runtime := stages[len(stages)-1]
	env := map[string]string{}
	var health, command []string
	for _, in := range runtime.ins {
		switch in.cmd {
		case "ENV":
			for _, kv := range strings.Fields(in.args) {
				k, v, _ := strings.Cut(kv, "=")
				env[k] = v
			}
		case "HEALTHCHECK":
			_, c, _ := strings.Cut(in.args, "CMD ")
			health = listArgs(c)
		case "CMD":
			command = listArgs(in.args)
		}
	}
	for _, k := range []string{"LEADERHOOK_STATE_DIR", "LEADERHOOK_AUDIT_LOG"} {
		if _, ok := env[k]; ok {
			t.Errorf("the image sets %s: it would silently win over the config file", k)
		}
	}
	if _, _, err := net.SplitHostPort(env["LEADERHOOK_SERVER__LISTEN"]); err != nil {
		t.Fatalf("LEADERHOOK_SERVER__LISTEN=%q: %v", env["LEADERHOOK_SERVER__LISTEN"], err)
	}
	if h, c := flagValue(health, "--config"), flagValue(command, "--config"); h == "" || h != c {
		t.Errorf("HEALTHCHECK %v reads config %q, the daemon (CMD %v) runs with %q", health, h, command, c)
	}
}

// flagValue returns the value that follows flag in args, or "".
func flagValue(args []string, flag string) string {
	for i, a := range args {
		if a == flag && i+1 < len(args) {
			return args[i+1]
		}
	}
	return ""
}

// The build context must not carry the repository, build output or state.
func TestDockerignore(t *testing.T) {
	data, err := os.ReadFile("../.dockerignore")
	if err != nil {
		t.Fatal(err)
	}
	lines := map[string]bool{}
	for _, l := range strings.Split(string(data), "\n") {
		if l = strings.TrimSpace(l); l != "" && !strings.HasPrefix(l, "#") {
			lines[l] = true
		}
	}
	for _, want := range []string{".git", "bin/", "/leaderhook", "**/leaderhook-state", "**/*.prof"} {
		if !lines[want] {
			t.Errorf(".dockerignore lacks %s", want)
		}
	}
	for l := range lines {
		for _, needed := range []string{"go.mod", "go.sum", "cmd", "cmd/leaderhook"} {
			if ok, _ := path.Match(strings.TrimPrefix(l, "/"), needed); ok || l == "*" {
				t.Errorf(".dockerignore line %q leaves out %s, which the build needs", l, needed)
			}
		}
	}
}

func TestHealthCommand(t *testing.T) {
	if _, _, code := run(t, nil, "health", "--url", "http://127.0.0.1:1/healthz", "--timeout", "200ms"); code != 1 {
		t.Errorf("health against nothing: exit %d, want 1", code)
	}
	// With -c, it asks at the config's server.listen.
	dir := t.TempDir()
	config := filepath.Join(dir, "rules.yaml")
	os.WriteFile(config, []byte(fmt.Sprintf("server: {listen: \"127.0.0.1:0\"}\nstate_dir: %s/state\nclusters:\n  - {name: c, source: {type: events, http: true}}\nrules: []\n", dir)), 0o644)
	d := startDaemon(t, config)
	listen := strings.TrimPrefix(d.baseURL(t), "http://")
	os.WriteFile(config, []byte(strings.Replace(mustRead(t, config), "127.0.0.1:0", listen, 1)), 0o644)
	if out, stderr, code := run(t, nil, "health", "-c", config); code != 0 || out != "ok\n" {
		t.Errorf("health -c against the running daemon: exit %d, %q %q", code, out, stderr)
	}
}

func mustRead(t *testing.T, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

func TestSchemaCommand(t *testing.T) {
	out, _, code := run(t, nil, "schema")
	if code != 0 || !strings.Contains(out, `"$schema": "https://json-schema.org/draft/2020-12/schema"`) || !strings.Contains(out, `"leaderless-`) && !strings.Contains(out, `"stabilize"`) {
		t.Errorf("schema: exit %d\n%.300s", code, out)
	}
}
