package config

import (
	"fmt"
	"github.com/leaderhook/leaderhook/rules"
	"maps"
	"os"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/leaderhook/leaderhook/actions/kinds"
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

// Each kind documents its own keys and no other, and none of them is a
// key every action takes; a kind may add to the description of one.
func TestEveryKindDocumentsItsKeys(t *testing.T) {
	for _, k := range kinds.All {
		var keys []string
		walkKeys(reflect.TypeOf(k.Config), "", &keys)
		for _, key := range keys {
			switch {
			case commonKey(key):
				t.Errorf("%s: %s is a key every action takes", k.Name, key)
			case k.Docs[key] == "":
				t.Errorf("%s: key %s has no description in the kind's Docs", k.Name, key)
			}
		}
		for key := range k.Docs {
			if !slices.Contains(keys, key) && !(commonKey(key) && slices.Contains(Keys(), "actions.*."+key)) {
				t.Errorf("%s: Docs documents %s, which is not a key of the kind", k.Name, key)
			}
		}
		for _, key := range slices.Concat(slices.Collect(maps.Keys(k.Enums)), k.PlainKeys) {
			if !slices.Contains(keys, key) {
				t.Errorf("%s: Enums or PlainKeys name %s, which is not a key of the kind", k.Name, key)
			}
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
	b.WriteString("\n## Rule variables\n\nWhat `when`, `verify.when` and `cooldown_key` can read (copied from README.md, Rules):\n\n")
	b.WriteString(variableTable())
	return b.String()
}

// variableTable is README.md's table of the rule variables, whose text is
// the one place they are described.
func variableTable() string {
	readme, err := os.ReadFile("../README.md")
	if err != nil {
		return ""
	}
	_, after, _ := strings.Cut(string(readme), "\n| name | type | meaning |\n")
	table, _, _ := strings.Cut(after, "\n\n")
	return "| name | type | meaning |\n" + table + "\n"
}

// Every variable the engine defines is in the table, and nothing else.
func TestVariableTable(t *testing.T) {
	documented := map[string]bool{}
	for _, line := range strings.Split(variableTable(), "\n")[2:] {
		names, _, _ := strings.Cut(strings.TrimPrefix(line, "| "), " | ")
		for _, n := range strings.Split(names, ", ") {
			if n = strings.Trim(n, "`"); n != "" {
				documented[n] = true
			}
		}
	}
	for _, v := range append(rules.Variables(), "leader_changes(d)") {
		if !documented[v] {
			t.Errorf("variable %s is not in README.md's table", v)
		}
		delete(documented, v)
	}
	for v := range documented {
		t.Errorf("README.md's table names %s, which is no variable", v)
	}
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

func structFields(t reflect.Type) map[string]reflect.Type {
	out := map[string]reflect.Type{}
	for _, k := range keysOf(t) {
		out[k.name] = k.typ
	}
	return out
}

func structKeys(t reflect.Type) []string { return keyNames(keysOf(t)) }

// keyTypes maps every key path, in the form Keys uses, to its Go type.
func keyTypes() map[string]reflect.Type {
	out := map[string]reflect.Type{}
	var walk func(t reflect.Type, prefix string)
	walk = func(t reflect.Type, prefix string) {
		for name, ft := range structFields(t) {
			path := joinKey(prefix, name)
			if ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			out[path] = ft
			switch {
			case ft.Kind() == reflect.Struct && ft != durationType:
				walk(ft, path)
			case ft.Kind() == reflect.Slice && ft.Elem().Kind() == reflect.Struct:
				walk(ft.Elem(), path+"[]")
			case ft.Kind() == reflect.Map && ft.Elem().Kind() == reflect.Struct:
				walk(ft.Elem(), path+".*")
			}
		}
	}
	walk(configType, "")
	return out
}

// schemaKeys walks a JSON Schema by full path, through properties, items
// (a list item adds []), additionalProperties (a map entry adds .*), $ref,
// anyOf/oneOf/allOf and then/else, and returns the subschema of every key it
// declares, with what it could not follow.
func schemaKeys(root map[string]any) (map[string]map[string]any, []string) {
	keys := map[string]map[string]any{}
	var problems []string
	var walk func(s map[string]any, path string, depth int)
	walk = func(s map[string]any, path string, depth int) {
		if depth > 50 {
			problems = append(problems, "a $ref cycle at "+path)
			return
		}
		if ref, ok := s["$ref"].(string); ok {
			target, ok := resolvePointer(root, ref)
			if !ok {
				problems = append(problems, fmt.Sprintf("%s: $ref %q resolves to no schema", path, ref))
			} else {
				walk(target, path, depth+1)
			}
		}
		for _, kw := range []string{"anyOf", "oneOf", "allOf"} {
			branches, _ := s[kw].([]any)
			for _, b := range branches {
				if b, ok := b.(map[string]any); ok {
					walk(b, path, depth+1)
				}
			}
		}
		// The conditions of if are no keys; what then and else allow are.
		for _, kw := range []string{"then", "else"} {
			if b, ok := s[kw].(map[string]any); ok {
				walk(b, path, depth+1)
			}
		}
		props, _ := s["properties"].(map[string]any)
		for name, sub := range props {
			sub, ok := sub.(map[string]any)
			if !ok {
				problems = append(problems, joinKey(path, name)+": not a schema")
				continue
			}
			p := joinKey(path, name)
			if _, dup := keys[p]; !dup {
				keys[p] = sub
				if ref, ok := sub["$ref"].(string); ok {
					// The key's type and description may sit at the target.
					target, _ := resolvePointer(root, ref)
					keys[p] = map[string]any{}
					maps.Copy(keys[p], target)
					maps.Copy(keys[p], sub)
				}
			}
			walk(sub, p, depth+1)
		}
		if items, ok := s["items"].(map[string]any); ok {
			walk(items, path+"[]", depth+1)
		}
		if ap, ok := s["additionalProperties"].(map[string]any); ok {
			walk(ap, path+".*", depth+1)
		}
	}
	walk(root, "", 0)
	return keys, problems
}

func resolvePointer(root map[string]any, ref string) (map[string]any, bool) {
	ptr, ok := strings.CutPrefix(ref, "#")
	if !ok {
		return nil, false
	}
	var cur any = root
	for tok := range strings.SplitSeq(strings.TrimPrefix(ptr, "/"), "/") {
		if tok == "" {
			continue
		}
		tok = strings.NewReplacer("~1", "/", "~0", "~").Replace(tok)
		m, ok := cur.(map[string]any)
		if !ok {
			return nil, false
		}
		cur = m[tok]
	}
	s, ok := cur.(map[string]any)
	return s, ok
}

// jsonType is the JSON type that a key of Go type t must allow.
func jsonType(t reflect.Type) string {
	switch {
	case t == durationType, t.Kind() == reflect.String:
		return "string"
	case t.Kind() == reflect.Struct, t.Kind() == reflect.Map:
		return "object"
	case t.Kind() == reflect.Slice:
		return "array"
	case t.Kind() == reflect.Int:
		return "integer"
	case t.Kind() == reflect.Bool:
		return "boolean"
	}
	return "unknown " + t.String()
}

// schemaKeyProblems compares the keys a printed schema declares, by full
// path, with the keys of the Go types: each must be in both, of its type,
// with its description.
func schemaKeyProblems(schema map[string]any) []string {
	keys, problems := schemaKeys(schema)
	types := keyTypes()
	for _, k := range Keys() {
		s, ok := keys[k]
		if !ok {
			problems = append(problems, "the schema lacks "+k)
			continue
		}
		var allowed []string
		switch ts := s["type"].(type) {
		case string:
			allowed = []string{ts}
		case []any:
			for _, t := range ts {
				allowed = append(allowed, fmt.Sprint(t))
			}
		}
		if want := jsonType(types[k]); !slices.Contains(allowed, want) {
			problems = append(problems, fmt.Sprintf("the schema of %s allows %v, not %s", k, allowed, want))
		}
		if s["description"] != Descriptions[k] {
			problems = append(problems, fmt.Sprintf("the schema of %s has description %q", k, s["description"]))
		}
	}
	for k := range keys {
		if _, ok := types[k]; !ok {
			problems = append(problems, "the schema has "+k+", which the config types do not")
		}
	}
	for k := range enums {
		if _, ok := keys[k]["anyOf"]; !ok || jsonType(types[k]) != "string" {
			problems = append(problems, "the enum of "+k+" is not in the schema")
		}
	}
	slices.Sort(problems)
	return problems
}

// The schema declares every key of the Go types, at its full path, and no
// other.
func TestSchemaCoversEveryKey(t *testing.T) {
	if got := schemaKeyProblems(printedSchema(t)); got != nil {
		t.Errorf("the schema and the config types disagree:\n%s", strings.Join(got, "\n"))
	}

	// The check sees a key missing, or one too many, deep in the schema.
	props := func(s map[string]any, path ...string) map[string]any {
		for _, p := range path {
			s = s[p].(map[string]any)
		}
		return s["properties"].(map[string]any)
	}
	lacking := printedSchema(t)
	delete(props(lacking, "properties", "clusters", "items", "properties", "source"), "body")
	extra := printedSchema(t)
	props(extra, "properties", "actions", "additionalProperties", "properties", "retry")["jitter"] = map[string]any{"type": "string"}
	referenced := printedSchema(t)
	retry := props(referenced, "properties", "actions", "additionalProperties")
	referenced["$defs"] = map[string]any{"retry": retry["retry"]}
	retry["retry"] = map[string]any{"$ref": "#/$defs/retry"}
	for _, tc := range []struct {
		name   string
		schema map[string]any
		want   []string
	}{
		{"lacking", lacking, []string{"the schema lacks clusters[].source.body"}},
		{"extra", extra, []string{"the schema has actions.*.retry.jitter, which the config types do not"}},
		{"through a $ref", referenced, nil},
	} {
		if got := schemaKeyProblems(tc.schema); !slices.Equal(got, tc.want) {
			t.Errorf("%s: got %q, want %q", tc.name, got, tc.want)
		}
	}
}
