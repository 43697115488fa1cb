package tests

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// systemdUnit is examples/leaderhook.service: its install steps (the
// header comment) and its [Service] keys, in order.
type systemdUnit struct {
	steps   []string            // the install commands of the header comment
	service map[string][]string // key -> values
}

func readUnit(t *testing.T) systemdUnit {
	t.Helper()
	f, err := os.Open("../examples/leaderhook.service")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	u := systemdUnit{service: map[string][]string{}}
	section := ""
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		l := sc.Text()
		switch {
		case section == "" && strings.HasPrefix(l, "#   "):
			u.steps = append(u.steps, strings.TrimPrefix(l, "#   "))
		case strings.HasPrefix(l, "["):
			section = l
		case section == "[Service]" && l != "" && !strings.HasPrefix(l, "#"):
			k, v, _ := strings.Cut(l, "=")
			u.service[k] = append(u.service[k], v)
		}
	}
	if len(u.steps) == 0 {
		t.Fatal("the unit's header comment has no install steps")
	}
	return u
}

func (u systemdUnit) one(t *testing.T, key string) string {
	t.Helper()
	if v := u.service[key]; len(v) == 1 {
		return v[0]
	}
	t.Errorf("[Service] %s= appears %d times, want once", key, len(u.service[key]))
	return ""
}

// step returns the install step that matches re, and its submatches.
func (u systemdUnit) step(t *testing.T, what, re string) []string {
	t.Helper()
	for _, s := range u.steps {
		if m := regexp.MustCompile(re).FindStringSubmatch(s); m != nil {
			return m
		}
	}
	t.Fatalf("no install step %s (want %s)", what, re)
	return nil
}

// The unit once had DynamicUser=yes while the install steps left
// rules.yaml root:root 0640: the service could not read its config and
// never started. The install steps, the unit and README.md must agree.
func TestSystemdUnit(t *testing.T) {
	u := readUnit(t)
	if v := u.service["DynamicUser"]; len(v) > 0 {
		t.Errorf("DynamicUser=%s: systemd does not chown /etc/leaderhook, the dynamic user cannot read a 0640 config", v)
	}
	user, group := u.one(t, "User"), u.one(t, "Group")
	if user == "" || user == "root" {
		t.Fatalf("User=%q: want the system user the install steps create", user)
	}
	m := u.step(t, "that creates the user", `^sudo useradd --system --user-group --home-dir (\S+) --shell \S+ (\S+)$`)
	if m[2] != user || group != user {
		t.Errorf("the install steps create user %s (group %s), the unit runs as User=%s Group=%s", m[2], m[2], user, group)
	}
	stateDir := "/var/lib/" + u.one(t, "StateDirectory")
	if wd := u.one(t, "WorkingDirectory"); wd != stateDir || m[1] != stateDir {
		t.Errorf("WorkingDirectory=%s, home %s: want both %s, so that the default state_dir lands in the StateDirectory", wd, m[1], stateDir)
	}
	for _, e := range u.service["Environment"] {
		if strings.Contains(e, "LEADERHOOK_STATE_DIR") || strings.Contains(e, "LEADERHOOK_AUDIT_LOG") {
			t.Errorf("Environment=%s silently wins over the config file", e)
		}
	}

	bin := u.step(t, "that installs the binary", `^sudo install -m 0755 bin/leaderhook (\S+)$`)[1]
	config := u.step(t, "that installs rules.yaml", `^sudo install -D -m 0640 -o root -g (\S+) examples/rules.yaml (\S+)$`)
	if config[1] != group {
		t.Errorf("rules.yaml is installed with group %s, the unit runs as Group=%s: it cannot read it", config[1], group)
	}
	envFile := u.step(t, "that creates the env file", `^sudo install -m 0640 -o root -g (\S+) /dev/null (\S+)$`)
	if envFile[1] != group {
		t.Errorf("the env file is installed with group %s, want %s", envFile[1], group)
	}
	if ef := strings.TrimPrefix(u.one(t, "EnvironmentFile"), "-"); ef != envFile[2] {
		t.Errorf("EnvironmentFile=%s, the install steps create %s", ef, envFile[2])
	}
	check := u.step(t, "that checks the config as the service user", `^sudo -u (\S+) (\S+) check -c (\S+)$`)
	if check[1] != user || check[2] != bin || check[3] != config[2] {
		t.Errorf("install step %q: want sudo -u %s %s check -c %s", check[0], user, bin, config[2])
	}
	if got := u.step(t, "that installs the unit", `^sudo install -m 0644 examples/leaderhook.service (\S+)$`)[1]; got != "/etc/systemd/system/leaderhook.service" {
		t.Errorf("the unit is installed as %s", got)
	}

	// Every leaderhook command line of the unit must parse: --help with
	// the same subcommand and flags fails on an unknown one.
	for _, key := range []string{"ExecStartPre", "ExecStart", "ExecReload"} {
		for _, line := range u.service[key] {
			argv := strings.Fields(strings.TrimLeft(line, "-@+!:"))
			switch {
			case argv[0] == bin:
				if i := indexOf(argv, "--config"); i < 0 || i+1 >= len(argv) || argv[i+1] != config[2] {
					t.Errorf("%s=%s: want --config %s", key, line, config[2])
				}
				out, stderr, code := run(t, nil, append(argv[1:], "--help")...)
				if code != 0 || !strings.Contains(out, "leaderhook "+argv[1]) {
					t.Errorf("%s=%s: leaderhook %s --help: exit %d\n%s", key, line, strings.Join(argv[1:], " "), code, stderr)
				}
			case key == "ExecReload" && filepath.Base(argv[0]) == "kill":
				// The daemon reloads on SIGHUP: tests/restart_test.go.
				if strings.Join(argv[1:], " ") != "-HUP $MAINPID" {
					t.Errorf("ExecReload=%s: want kill -HUP $MAINPID", line)
				}
			default:
				t.Errorf("%s=%s: not %s", key, line, bin)
			}
		}
	}
	if _, stderr, code := run(t, nil, "check", "-c", "../examples/rules.yaml"); code != 0 {
		t.Errorf("check of the installed example: exit %d\n%s", code, stderr)
	}

	// README.md's Install section: make build, then the same steps.
	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, install, _ := strings.Cut(string(readme), "## Install\n\n```sh\n")
	block, _, _ := strings.Cut(install, "```")
	lines := strings.Split(strings.TrimSuffix(block, "\n"), "\n")
	if len(lines) == 0 || !strings.HasPrefix(lines[0], "make build") {
		t.Fatalf("README.md's Install block does not start with make build:\n%s", block)
	}
	if got, want := strings.Join(lines[1:], "\n"), strings.Join(u.steps, "\n"); got != want {
		t.Errorf("README.md's Install steps:\n%s\nthe unit's:\n%s", got, want)
	}
}

// With systemd's default KillMode=control-group, `systemctl stop` or
// `restart` sends SIGTERM to every process of the unit at once: a failover
// script still running dies of a signal leaderhook did not send, which is
// a failure for good (its on_failure actions run, it is not resumed),
// instead of being drained, then interrupted and resumed after the
// restart. mixed sends SIGTERM to leaderhook alone and SIGKILL to what is
// left once it has exited.
func TestSystemdStopLeavesScriptsToTheDaemon(t *testing.T) {
	u := readUnit(t)
	if got := u.one(t, "KillMode"); got != "mixed" {
		t.Errorf("KillMode=%s: want mixed, so that a stop does not kill running scripts behind leaderhook's back", got)
	}
	if got := u.one(t, "KillSignal"); got != "SIGTERM" {
		t.Errorf("KillSignal=%s: leaderhook drains on SIGTERM", got)
	}
}

func indexOf(s []string, v string) int {
	for i, x := range s {
		if x == v {
			return i
		}
	}
	return -1
}

// systemd-analyze verify in a scratch root that holds the unit, the binary
// and systemd's own units. make test installs Debian's systemd for it.
func TestSystemdAnalyzeVerify(t *testing.T) {
	sa, err := exec.LookPath("systemd-analyze")
	if err != nil {
		t.Fatal("systemd-analyze is missing: install Debian's systemd package (make deps does)")
	}
	const units = "/usr/lib/systemd/system"
	if _, err := os.Stat(filepath.Join(units, "sysinit.target")); err != nil {
		t.Fatalf("no systemd units in %s: install Debian's systemd package (make deps does)", units)
	}
	root := t.TempDir()
	for _, d := range []string{"usr/local/bin", "bin", "etc/systemd/system", "usr/lib/systemd"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range [][]string{
		{binary, "usr/local/bin/leaderhook"},
		{"/bin/kill", "bin/kill"},
		{"../examples/leaderhook.service", "etc/systemd/system/leaderhook.service"},
		{units, "usr/lib/systemd/system"},
	} {
		if out, err := exec.Command("cp", "-r", c[0], filepath.Join(root, c[1])).CombinedOutput(); err != nil {
			t.Fatalf("cp %s: %v\n%s", c[0], err, out)
		}
	}
	out, err := exec.Command(sa, "verify", "--root="+root, "leaderhook.service").CombinedOutput()
	if err != nil || len(out) > 0 {
		t.Errorf("systemd-analyze verify: %v\n%s", err, out)
	}
}
