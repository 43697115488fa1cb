package tests

import (
	"os/exec"
	"strings"
	"testing"
)

const module = "github.com/leaderhook/leaderhook/"

// TestDependencyDirection enforces the direction data flows in (STYLE.md):
// detector → rules → actions, wired only by pipeline and cmd. The shared
// event and field packages import nothing of ours.
func TestDependencyDirection(t *testing.T) {
	out, err := exec.Command("go", "list", "-f", `{{.ImportPath}} {{join .Imports " "}}`, "../...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	forbidden := map[string][]string{
		"event":    {module},
		"field":    {module},
		"detector": {module + "rules", module + "actions", module + "pipeline", module + "config", module + "cmd"},
		"rules":    {module + "actions", module + "detector", module + "pipeline", module + "config", "net/http", "os/exec"},
		"actions":  {module + "rules", module + "detector", module + "pipeline", module + "config", "github.com/expr-lang/expr"},
		"config":   {module + "pipeline", module + "cmd"},
		"dispatch": {module + "rules", module + "detector", module + "pipeline", module + "config", "github.com/expr-lang/expr"},
		"clock":    {module},
	}
	seen := 0
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
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
					t.Errorf("%s imports %s: dependencies must flow detector → rules → actions (STYLE.md)", fields[0], imp)
				}
			}
		}
	}
	if seen < len(forbidden) {
		t.Fatalf("checked %d packages, expected at least %d: is go list seeing the module?", seen, len(forbidden))
	}
}
