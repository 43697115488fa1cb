package tests

import (
	"os/exec"
	"strings"
	"testing"
)

const module = "github.com/leaderhook/leaderhook/"

// TestDependencyDirection enforces the direction data flows in:
// detector → rules → actions, wired only by pipeline and cmd. The shared
// event and field packages import nothing of ours.
func TestDependencyDirection(t *testing.T) {
	out := imports(t)
	forbidden := map[string][]string{
		"event":    {module},
		"field":    {module},
		"detector": {module + "rules", module + "actions", module + "pipeline", module + "config", module + "cmd"},
		"rules":    {module + "actions", module + "detector", module + "pipeline", module + "config", "net/http", "os/exec"},
		"actions":  {module + "rules", module + "detector", module + "pipeline", module + "config", "github.com/expr-lang/expr"},
		"config":   {module + "pipeline", module + "cmd", module + "daemon"},
		"dispatch": {module + "rules", module + "detector", module + "pipeline", module + "config", module + "store", module + "daemon", "github.com/expr-lang/expr"},
		"store":    {module + "pipeline", module + "config", module + "daemon", module + "api"},
		"api":      {module + "rules", module + "detector", module + "pipeline", module + "config", module + "dispatch", module + "daemon"},
		"pipeline": {module + "daemon", module + "api", module + "store"},
		"daemon":   {module + "cmd"},
		"clock":    {module},
		"report":   {module + "rules", module + "detector", module + "pipeline", module + "config", module + "daemon", module + "dispatch", module + "actions", module + "api", module + "cmd"},
	}
	seen := 0
	for _, line := range out {
		fields := strings.Fields(line)
		pkg := strings.TrimPrefix(fields[0], module)
		top := strings.SplitN(pkg, "/", 2)[0]
		bans, ok := forbidden[top]
		if !ok {
			continue
		}
		seen++
		for _, imp := range fields[1:] {
			for _, ban := range bans {
				if imp == ban || strings.HasPrefix(imp, ban+"/") || (strings.HasSuffix(ban, "/") && strings.HasPrefix(imp, ban)) {
					t.Errorf("%s imports %s: dependencies must flow sources → detector → rules → dispatch → actions", fields[0], imp)
				}
			}
		}
	}
	if seen < len(forbidden) {
		t.Fatalf("checked %d packages, expected at least %d: is go list seeing the module?", seen, len(forbidden))
	}
}

// TestKindsThroughTheRegistry: outside actions/, packages know the kinds
// of action only through actions/kinds, so that adding a kind is adding
// its package and a line there.
func TestKindsThroughTheRegistry(t *testing.T) {
	for _, line := range imports(t) {
		fields := strings.Fields(line)
		pkg := strings.TrimPrefix(fields[0], module)
		if strings.HasPrefix(pkg, "actions") {
			continue
		}
		for _, imp := range fields[1:] {
			kind, ok := strings.CutPrefix(imp, module+"actions/")
			if ok && kind != "kinds" {
				t.Errorf("%s imports %s: use actions/kinds", fields[0], imp)
			}
		}
	}
}

// imports lists the module's packages, each as a line "path import...".
func imports(t *testing.T) []string {
	t.Helper()
	out, err := exec.Command("go", "list", "-f", `{{.ImportPath}} {{join .Imports " "}}`, "../...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	return strings.Split(strings.TrimSpace(string(out)), "\n")
}
