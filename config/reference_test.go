package config

import (
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
)

// The documented keys and the real ones must not diverge.
func TestEveryKeyIsDocumented(t *testing.T) {
	keys := Keys()
	for _, k := range keys {
		if Descriptions[k] == "" {
			t.Errorf("config key %s has no description in config.Descriptions", k)
		}
	}
	for k := range Descriptions {
		if !slices.Contains(keys, k) {
			t.Errorf("config.Descriptions documents %s, which is not a config key", k)
		}
	}
}

// Reference renders docs/configuration.md from the keys and descriptions.
func Reference() string {
	var b strings.Builder
	b.WriteString("# Configuration reference\n\n")
	b.WriteString("Every key of the config file (generated from the Go types by `go test ./config -update`;\n")
	b.WriteString("a test fails if this page and the code disagree). `[]` is a list item, `*` a name you choose.\n")
	b.WriteString("`${VAR}` and `${VAR:-default}` in values come from the environment; `LEADERHOOK_STATE_DIR`,\n")
	b.WriteString("`LEADERHOOK_SERVER__LISTEN` etc. override top-level and `server` keys. `leaderhook schema`\n")
	b.WriteString("prints a JSON Schema of the same keys for editors.\n\n")
	b.WriteString("| key | meaning |\n|---|---|\n")
	for _, k := range Keys() {
		fmt.Fprintf(&b, "| `%s` | %s |\n", k, strings.ReplaceAll(Descriptions[k], "|", "\\|"))
	}
	return b.String()
}

func TestReferenceDoc(t *testing.T) {
	want := Reference()
	if *update {
		os.WriteFile("../docs/configuration.md", []byte(want), 0o644)
	}
	got, err := os.ReadFile("../docs/configuration.md")
	if err != nil || string(got) != want {
		t.Errorf("docs/configuration.md is out of date: run go test ./config -update (%v)", err)
	}
}

func TestSchemaCoversEveryKey(t *testing.T) {
	data, err := json.Marshal(Schema())
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range Keys() {
		parts := strings.FieldsFunc(strings.NewReplacer("[]", "", ".*", "").Replace(k), func(r rune) bool { return r == '.' })
		if !strings.Contains(string(data), `"`+parts[len(parts)-1]+`":`) {
			t.Errorf("schema lacks %s", k)
		}
	}
}
