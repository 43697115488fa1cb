package config

// Tests of the JSON Schema that `leaderhook schema` prints, with a real
// validator, against the loader: where the schema and the loader can see
// the same thing, they must agree.

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/santhosh-tekuri/jsonschema/v6/kind"
	"gopkg.in/yaml.v3"
)

// printedSchema is Schema() as `leaderhook schema` prints it, read back as
// JSON: what an editor gets.
func printedSchema(t testing.TB) map[string]any {
	t.Helper()
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetIndent("", "  ")
	if err := enc.Encode(Schema()); err != nil {
		t.Fatal(err)
	}
	doc, err := jsonschema.UnmarshalJSON(&buf)
	if err != nil {
		t.Fatal(err)
	}
	return doc.(map[string]any)
}

func compile(t testing.TB, doc map[string]any) *jsonschema.Schema {
	t.Helper()
	c := jsonschema.NewCompiler()
	if err := c.AddResource("leaderhook.schema.json", doc); err != nil {
		t.Fatal(err)
	}
	sch, err := c.Compile("leaderhook.schema.json")
	if err != nil {
		t.Fatalf("compiling the schema: %v", err)
	}
	return sch
}

// editorValue is the data the YAML language server validates for a YAML
// file: aliases and merge keys resolved, one document, no duplicate keys,
// scalars typed (ints stay ints, strings stay strings). yaml.v3 types the
// plain scalars; a timestamp, which the core schema of YAML 1.2 does not
// have, stays a string.
func editorValue(data []byte) (any, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("parsing YAML: %w", err)
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("more than one YAML document (%v)", err)
	}
	if len(doc.Content) == 0 {
		return nil, nil // an empty file is null
	}
	return nodeValue(doc.Content[0])
}

func nodeValue(n *yaml.Node) (any, error) {
	switch n.Kind {
	case yaml.AliasNode:
		return nodeValue(n.Alias)
	case yaml.SequenceNode:
		s := []any{}
		for _, item := range n.Content {
			v, err := nodeValue(item)
			if err != nil {
				return nil, err
			}
			s = append(s, v)
		}
		return s, nil
	case yaml.MappingNode:
		m := map[string]any{}
		var merged [][2]*yaml.Node
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			if isMerge(k) {
				entries, ok := mergeEntries(v)
				if !ok {
					return nil, fmt.Errorf("line %d: bad merge key", k.Line)
				}
				merged = append(merged, entries...)
				continue
			}
			if _, dup := m[k.Value]; dup {
				return nil, fmt.Errorf("line %d: duplicate key %q", k.Line, k.Value)
			}
			val, err := nodeValue(v)
			if err != nil {
				return nil, err
			}
			m[k.Value] = val
		}
		// The mapping's own keys win, then the earlier merged ones.
		for _, e := range merged {
			if _, seen := m[e[0].Value]; !seen {
				val, err := nodeValue(e[1])
				if err != nil {
					return nil, err
				}
				m[e[0].Value] = val
			}
		}
		return m, nil
	}
	switch n.ShortTag() {
	case "!!null":
		return nil, nil
	case "!!bool":
		var b bool
		err := n.Decode(&b)
		return b, err
	case "!!int":
		var i int64
		err := n.Decode(&i)
		return json.Number(strconv.FormatInt(i, 10)), err
	case "!!float":
		var f float64
		err := n.Decode(&f)
		return json.Number(strconv.FormatFloat(f, 'g', -1, 64)), err
	}
	return n.Value, nil
}

// schemaProblems validates v and returns where the schema finds problems,
// as config paths (clusters[0].source.file). An unknown key is placed at
// the key, as the loader places it.
func schemaProblems(t testing.TB, sch *jsonschema.Schema, v any) []string {
	t.Helper()
	err := sch.Validate(v)
	if err == nil {
		return nil
	}
	var ve *jsonschema.ValidationError
	if !errors.As(err, &ve) {
		t.Fatalf("validating: %v", err)
	}
	set := map[string]bool{}
	var walk func(e *jsonschema.ValidationError)
	walk = func(e *jsonschema.ValidationError) {
		if pn, ok := e.ErrorKind.(*kind.PropertyNames); ok {
			// A bad key name is placed at the key, as the loader places
			// it. The validator may give such an error the location of
			// another mapping it checked later, but a name is as bad in
			// every mapping that constrains names.
			for _, p := range namedKeys(v, "", pn.Property) {
				set[p] = true
			}
			return
		}
		for _, c := range e.Causes {
			walk(c)
		}
		if len(e.Causes) > 0 {
			return
		}
		p := configPath(v, e.InstanceLocation)
		if ap, ok := e.ErrorKind.(*kind.AdditionalProperties); ok {
			for _, name := range ap.Properties {
				set[joinKey(p, name)] = true
			}
			return
		}
		set[p] = true
	}
	walk(ve)
	return sortedKeys(set)
}

// namedKeys returns the config paths of the keys called name in the
// mappings of v whose key names the schema constrains (mapKeyNames).
func namedKeys(v any, path, name string) []string {
	var out []string
	switch c := v.(type) {
	case []any:
		for i, item := range c {
			out = append(out, namedKeys(item, path+"["+strconv.Itoa(i)+"]", name)...)
		}
	case map[string]any:
		if _, constrained := mapKeyNames[listItems.ReplaceAllString(path, "[]")]; constrained {
			if _, ok := c[name]; ok {
				out = append(out, joinKey(path, name))
			}
		}
		for k, item := range c {
			out = append(out, namedKeys(item, joinKey(path, k), name)...)
		}
	}
	return out
}

var listItems = regexp.MustCompile(`\[[0-9]+\]`)

// configPath writes a JSON Schema instance location the way the loader
// writes paths: list items as [i], keys after dots.
func configPath(v any, loc []string) string {
	path := ""
	for _, tok := range loc {
		switch c := v.(type) {
		case []any:
			i, _ := strconv.Atoi(tok)
			path += "[" + tok + "]"
			v = c[i]
		case map[string]any:
			path = joinKey(path, tok)
			v = c[tok]
		}
	}
	return path
}

// shapeMessages start the loader's messages about a value that does not
// fit the Go types: the part of its checks that a schema can share.
var shapeMessages = []string{"unknown key ", "want ", "the config must be a mapping"}

// loaderShapeProblems returns the paths where Parse reports a shape
// problem, and all its diagnostics for messages.
func loaderShapeProblems(name string, data []byte, env map[string]string) (shape []string, all []Diagnostic) {
	_, _, err := Parse(name, data, envOf(env))
	var list *Errors
	if !errors.As(err, &list) {
		return nil, nil
	}
	set := map[string]bool{}
	for _, d := range list.Diagnostics {
		for _, m := range shapeMessages {
			if strings.HasPrefix(d.Msg, m) {
				set[d.Path] = true
			}
		}
	}
	return sortedKeys(set), list.Diagnostics
}

// agree checks that the schema finds problems exactly where the loader
// finds shape problems, plus also (problems the loader reports as
// something else, such as a value not in an enum), less gap (shape
// problems the schema cannot see in an editor's data).
func agree(t *testing.T, sch *jsonschema.Schema, name string, data []byte, env map[string]string, also, gap []string) {
	t.Helper()
	v, err := editorValue(data)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	got := schemaProblems(t, sch, v)
	shape, diags := loaderShapeProblems(name, data, env)
	var want []string
	for _, p := range shape {
		if !slices.Contains(gap, p) {
			want = append(want, p)
		}
	}
	want = append(want, also...)
	slices.Sort(want)
	want = slices.Compact(want)
	if !slices.Equal(got, want) {
		t.Errorf("%s: the schema finds problems at %q, want %q\nloader:\n%s", name, got, want, diagString(diags))
	}
	for _, p := range gap {
		if !slices.Contains(shape, p) {
			t.Errorf("%s: gap %s: the loader reports no shape problem there\nloader:\n%s", name, p, diagString(diags))
		}
	}
}

func diagString(ds []Diagnostic) string {
	var b strings.Builder
	for _, d := range ds {
		b.WriteString("  " + d.String() + "\n")
	}
	return b.String()
}

// smallConfig is a valid config with line added at one of its places:
// source, cluster, action, rule or top. Lines after the first of line are
// indented like the first.
func smallConfig(where, line string) string {
	src := `clusters:
  - name: z
    source:
      type: events
      stdin: true
      <source>
    <cluster>
actions:
  page:
    type: webhook
    url: http://127.0.0.1:9/x
    <action>
rules:
  - name: r
    when: leaderless
    actions: [page]
    <rule>
<top>
`
	var out []string
	for l := range strings.Lines(src) {
		l = strings.TrimSuffix(l, "\n")
		indent, marker := l[:len(l)-len(strings.TrimLeft(l, " "))], strings.TrimSpace(l)
		switch {
		case marker == "<"+where+">":
			out = append(out, indent+strings.ReplaceAll(line, "\n", "\n"+indent))
		case strings.HasPrefix(marker, "<"):
		default:
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n") + "\n"
}

var schemaEnv = map[string]string{"RETRIES": "4", "EMPTY": ""}

// The schema accepts what the loader accepts, and rejects what it rejects
// for the shape of a value; the table says where they cannot agree.
func TestSchemaAgreesWithLoader(t *testing.T) {
	sch := compile(t, printedSchema(t))
	type outcome int
	const (
		valid outcome = iota // `leaderhook check` accepts it
		shape                // the loader reports a shape problem at path
		also                 // the loader reports another problem at path that the schema shares
		gap                  // the loader reports a shape problem at path that no schema can see
	)
	cases := []struct {
		where, line string
		want        outcome
		path        string
	}{
		// Durations that time.ParseDuration takes.
		{"cluster", `stabilize: "0"`, valid, ""},
		{"cluster", "stabilize: .5s", valid, ""},
		{"cluster", "stabilize: 1.s", valid, ""},
		{"cluster", "stabilize: 1h2m3.5s", valid, ""},
		{"cluster", "stabilize: 2µs", valid, ""},
		{"cluster", "stabilize: +1s", valid, ""},
		{"rule", "cooldown: 1h0m0s", valid, ""},
		// Placeholders, in every kind of scalar.
		{"cluster", "stabilize: ${STABILIZE:-2s}", valid, ""},
		{"source", "http: ${HTTP:-true}", valid, ""},
		{"action", "retry:\n  max_attempts: ${RETRIES}", valid, ""},
		{"action", "retry:\n  max_attempts: ${MISSING:-3}", valid, ""},
		{"action", "retry:\n  initial_backoff: ${EMPTY:-1}s", valid, ""},
		{"action", "method: ${METHOD:-PUT}", valid, ""},
		{"rule", "fire_on_start: ${FIRE:-false}", valid, ""},
		{"top", "server:\n  max_body_bytes: ${MAX_BODY:-1024}", valid, ""},
		{"top", "audit_log: ${AUDIT_LOG:-/tmp/audit.jsonl}", valid, ""},
		// An empty value keeps the default.
		{"cluster", "labels:", valid, ""},
		{"rule", "labels:", valid, ""},
		{"rule", "labels: {severity: critical, _team: \"\", Env2: prod}", valid, ""},
		{"cluster", "stabilize:", valid, ""},
		{"action", "retry:", valid, ""},
		{"action", "headers: {X-A: 1x, X-B: }", valid, ""},
		{"rule", "mute:", valid, ""},
		{"top", "server:", valid, ""},
		{"top", "windows:", valid, ""},
		// Merge keys and aliases.
		{"action", "retry: {<<: {max_attempts: 2}, max_backoff: 1m}", valid, ""},
		{"top", "windows:\n  a: &w {schedule: \"0 2 * * *\", duration: 1h}\n  b: *w", valid, ""},

		// Unknown keys, at every depth.
		{"top", "stat_dir: ./state", shape, "stat_dir"},
		{"top", "server: {listn: \":1\"}", shape, "server.listn"},
		{"cluster", "stabilise: 2s", shape, "clusters[0].stabilise"},
		{"source", "bodyy: x", shape, "clusters[0].source.bodyy"},
		{"action", "retry: {attempts: 3}", shape, "actions.page.retry.attempts"},
		{"rule", "cooldwn: 1m", shape, "rules[0].cooldwn"},
		{"top", "windows: {w: {schedule: \"0 2 * * *\", duration: 1h, every: 2}}", shape, "windows.w.every"},
		{"action", "retry: {<<: {attempts: 2}}", shape, "actions.page.retry.attempts"},
		// Wrong types.
		{"top", "server: {listen: 9464}", shape, "server.listen"},
		{"top", "server: {max_body_bytes: lots}", shape, "server.max_body_bytes"},
		{"top", "timezone: [UTC]", shape, "timezone"},
		{"top", "state_dir: {a: b}", shape, "state_dir"},
		{"action", "retry: {max_attempts: 2.5}", shape, "actions.page.retry.max_attempts"},
		{"action", `retry: {max_attempts: "6"}`, shape, "actions.page.retry.max_attempts"},
		{"action", "retry: 3", shape, "actions.page.retry"},
		{"action", "on_failure: page", shape, "actions.page.on_failure"},
		{"action", "headers: {X-A: true}", shape, "actions.page.headers.X-A"},
		{"source", "http: yes", shape, "clusters[0].source.http"},
		{"source", `http: "true"`, shape, "clusters[0].source.http"},
		{"source", "members: ${MEMBERS:-a}", shape, "clusters[0].source.members"},
		{"source", "preset: 5", shape, "clusters[0].source.preset"},
		{"cluster", "labels: [a, b]", shape, "clusters[0].labels"},
		{"cluster", "labels: {env: 1}", shape, "clusters[0].labels.env"},
		{"cluster", "members: {a: b}", shape, "clusters[0].members"},
		{"rule", "on_resolve: page", shape, "rules[0].on_resolve"},
		{"rule", "description: true", shape, "rules[0].description"},
		{"rule", "labels: {severity: 2}", shape, "rules[0].labels.severity"},
		{"rule", "labels: severity", shape, "rules[0].labels"},
		// Durations that time.ParseDuration refuses, or that are not strings.
		{"cluster", "stabilize: 0", shape, "clusters[0].stabilize"},
		{"rule", "cooldown: 5", shape, "rules[0].cooldown"},
		{"rule", "for: 1d", shape, "rules[0].for"},
		{"rule", `repeat: "1h "`, shape, "rules[0].repeat"},
		{"rule", "cooldown: 1.5", shape, "rules[0].cooldown"},
		{"top", "windows: {w: {schedule: \"0 2 * * *\", duration: 2 hours}}", shape, "windows.w.duration"},
		{"source", "interval: $${X}", shape, "clusters[0].source.interval"},
		// A malformed ${ fails expansion; in a typed field the schema sees it.
		{"action", "timeout: ${T:-5s", also, "actions.page.timeout"},
		{"action", "retry:\n  max_attempts: ${1X}", also, "actions.page.retry.max_attempts"},
		{"source", "interval: ${A}${B", also, "clusters[0].source.interval"},
		// A key of another kind of action: each kind is a branch of the
		// schema, chosen by the type.
		{"action", "command: [1]", also, "actions.page.command"},
		{"action", `channel: "#ops"`, also, "actions.page.channel"},
		// A rule's label names: Prometheus's, and not the reserved ones.
		{"rule", "labels: {team-name: db}", also, "rules[0].labels.team-name"},
		{"rule", "labels: {cluster: other}", also, "rules[0].labels.cluster"},
		// A value outside an enum; $${ is no placeholder.
		{"source", "preset: etcd3", also, "clusters[0].source.preset"},
		{"action", "format: $${NOT_A_PLACEHOLDER}", also, "actions.page.format"},
		// An editor sees neither quotes nor the environment, nor YAML 1.1
		// timestamps: these pass the schema and fail `leaderhook check`.
		{"action", `retry: {max_attempts: "${RETRIES}"}`, gap, "actions.page.retry.max_attempts"},
		{"action", "retry:\n  max_attempts: ${NOT_A_NUMBER:-x}", gap, "actions.page.retry.max_attempts"},
		{"cluster", "labels: {since: 2024-01-01}", gap, "clusters[0].labels.since"},
	}
	for _, tc := range cases {
		src := smallConfig(tc.where, tc.line)
		name := tc.where + ": " + tc.line
		t.Run(name, func(t *testing.T) {
			_, _, err := Parse("small.yaml", []byte(src), envOf(schemaEnv))
			switch tc.want {
			case valid:
				if err != nil {
					t.Fatalf("the loader rejects it:\n%v\n%s", err, src)
				}
				agree(t, sch, name, []byte(src), schemaEnv, nil, nil)
			case shape:
				if shapes, diags := loaderShapeProblems("small.yaml", []byte(src), schemaEnv); !slices.Contains(shapes, tc.path) {
					t.Fatalf("the loader reports no shape problem at %s:\n%s", tc.path, diagString(diags))
				}
				agree(t, sch, name, []byte(src), schemaEnv, nil, nil)
			case also:
				if _, diags := loaderShapeProblems("small.yaml", []byte(src), schemaEnv); !hasDiag(diags, tc.path) {
					t.Fatalf("the loader reports nothing at %s:\n%s", tc.path, diagString(diags))
				}
				agree(t, sch, name, []byte(src), schemaEnv, []string{tc.path}, nil)
			case gap:
				agree(t, sch, name, []byte(src), schemaEnv, nil, []string{tc.path})
			}
		})
	}
}

func hasDiag(ds []Diagnostic, path string) bool {
	return slices.ContainsFunc(ds, func(d Diagnostic) bool { return d.Path == path })
}

// The schema accepts every config this repo ships, as `leaderhook check`
// does.
func TestSchemaAcceptsShippedConfigs(t *testing.T) {
	sch := compile(t, printedSchema(t))
	for _, path := range []string{"../examples/rules.yaml", "../testdata/openziti-1/rules.yaml"} {
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := Parse(path, data, envOf(testEnv)); err != nil {
			t.Errorf("%s does not load: %v", path, err)
		}
		v, err := editorValue(data)
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		if got := schemaProblems(t, sch, v); len(got) > 0 {
			t.Errorf("%s: the schema finds problems at %q", path, got)
		}
	}
}

// Each config in testdata: the schema finds problems where the loader
// finds shape problems, and only there.
func TestSchemaTestdata(t *testing.T) {
	sch := compile(t, printedSchema(t))
	cases := map[string]struct {
		notData bool     // no single YAML document without duplicate keys: editors report it, not the schema
		also    []string // found by the schema, reported by the loader as not shape
	}{
		"cron.yaml":      {},
		"duplicate.yaml": {notData: true},
		"durations.yaml": {},
		"empty.yaml":     {also: []string{""}},
		"env-unset.yaml": {},
		"labels.yaml": {also: []string{"rules[1].labels.alertname", "rules[1].labels.cluster",
			"rules[2].labels.team-name", "rules[2].labels.2nd", "rules[2].labels.app.kubernetes.io/name"}},
		"mixed.yaml":       {},
		"multidoc.yaml":    {notData: true},
		"no-clusters.yaml": {},
		"other-kinds.yaml": {also: []string{"actions.page.command", "actions.page.kill_grace", "actions.page.channel",
			"actions.run.url", "actions.run.headers", "actions.chat.body", "actions.chat.concurrency", "actions.odd.type"}},
		"semantic.yaml":     {also: []string{"clusters[1].source.preset"}},
		"sources.yaml":      {also: []string{"clusters[0].source.type"}},
		"syntax-tab.yaml":   {notData: true},
		"syntax.yaml":       {notData: true},
		"unknown-keys.yaml": {},
		"valid.yaml":        {},
		"verify.yaml":       {},
		"wrong-types.yaml":  {},
	}
	files, _ := filepath.Glob("testdata/*.yaml")
	for _, path := range files {
		name := filepath.Base(path)
		t.Run(name, func(t *testing.T) {
			tc, ok := cases[name]
			if !ok {
				t.Fatalf("add %s to the table of this test", name)
			}
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if tc.notData {
				if _, err := editorValue(data); err == nil {
					t.Errorf("%s reads as YAML data", name)
				}
				return
			}
			agree(t, sch, name, data, testEnv, tc.also, nil)
		})
	}
}

// Every ```yaml block of the docs is valid by the schema. A block indented
// as list items belongs to the clusters or the rules, which its items'
// keys tell apart.
func TestSchemaAcceptsDocExamples(t *testing.T) {
	sch := compile(t, printedSchema(t))
	docs, _ := filepath.Glob("../docs/*.md")
	blocks := 0
	for _, path := range append([]string{"../README.md"}, docs...) {
		f, err := os.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		for _, b := range yamlBlocks(t, f) {
			blocks++
			where := fmt.Sprintf("%s:%d", path, b.line)
			src, err := wholeConfig(b.text)
			switch {
			case err != nil:
				t.Errorf("%s: %v", where, err)
				continue
			case src == "":
				continue // not a config
			}
			v, err := editorValue([]byte(src))
			if err != nil {
				t.Errorf("%s: %v", where, err)
				continue
			}
			if got := schemaProblems(t, sch, v); len(got) > 0 {
				t.Errorf("%s: the schema finds problems at %q in\n%s", where, got, src)
			}
			if shapes, diags := loaderShapeProblems(where, []byte(src), testEnv); len(shapes) > 0 {
				t.Errorf("%s: the loader finds problems at %q:\n%s", where, shapes, diagString(diags))
			}
		}
		f.Close()
	}
	if blocks < 5 {
		t.Errorf("found %d yaml blocks in the docs; the reader is broken", blocks)
	}
}

type docBlock struct {
	line int // of the first line inside the fence
	text string
}

func yamlBlocks(t *testing.T, r io.Reader) []docBlock {
	var blocks []docBlock
	var cur *docBlock
	sc := bufio.NewScanner(r)
	for n := 1; sc.Scan(); n++ {
		l := sc.Text()
		switch {
		case cur == nil && (strings.TrimSpace(l) == "```yaml" || strings.TrimSpace(l) == "```yml"):
			cur = &docBlock{line: n + 1}
		case cur != nil && strings.TrimSpace(l) == "```":
			blocks = append(blocks, *cur)
			cur = nil
		case cur != nil:
			cur.text += l + "\n"
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return blocks
}

// wholeConfig returns a doc block as a config file: as it is when it starts
// at the top level, or as the clusters or rules it lists. A block of
// another file (no top-level key of a config, or list items with neither
// source nor when) is "".
func wholeConfig(text string) (string, error) {
	var first string
	for l := range strings.Lines(text) {
		if s := strings.TrimSpace(l); s != "" && !strings.HasPrefix(s, "#") {
			first = l
			break
		}
	}
	if !strings.HasPrefix(strings.TrimLeft(first, " "), "- ") {
		if first != strings.TrimLeft(first, " ") {
			return "", fmt.Errorf("an indented block that is no list: cannot tell what it belongs to")
		}
		var top map[string]any
		if err := yaml.Unmarshal([]byte(text), &top); err != nil {
			return "", err
		}
		for _, k := range structKeys(configType) {
			if _, ok := top[k]; ok {
				return text, nil
			}
		}
		return "", nil
	}
	var items []map[string]any
	if err := yaml.Unmarshal([]byte(text), &items); err != nil {
		return "", fmt.Errorf("a list of what? %w", err)
	}
	lists := map[string]bool{}
	for _, item := range items {
		_, source := item["source"]
		_, when := item["when"]
		switch {
		case source && when:
			return "", fmt.Errorf("an item with both source: and when: is neither a cluster nor a rule")
		case source:
			lists["clusters"] = true
		case when:
			lists["rules"] = true
		default:
			lists[""] = true
		}
	}
	if len(lists) == 1 && lists[""] {
		return "", nil // another file's list
	}
	if len(lists) != 1 {
		return "", fmt.Errorf("cannot tell whether this lists clusters (with source:) or rules (with when:)")
	}
	list := sortedKeys(lists)[0]
	return list + ":\n" + text, nil
}

var durationCases = []struct {
	value string
	ok    bool
}{
	{"0", true},
	{"+0", true},
	{"-0", true},
	{"0s", true},
	{".5s", true},
	{"1.s", true},
	{"1.5h", true},
	{"1h2m", true},
	{"1h2m3s4ms5us6µs7μs8ns", true},
	{"-1s", true}, // the loader parses it; validation refuses it where it matters
	{"+2m", true},
	{"0.000001ns", true},
	{"100000h", true},
	{"", false},
	{"00", false},
	{"1", false},
	{"s", false},
	{".s", false},
	{"-", false},
	{"1d", false},
	{"1H", false},
	{"1 s", false},
	{" 1s", false},
	{"1s ", false},
	{"1s-1s", false},
	{"--1s", false},
	{"1e3s", false},
	{"1,5s", false},
	{"1h 2m", false},
}

// Each duration goes through the loader's parser and the schema, at every
// duration key.
func TestSchemaDurations(t *testing.T) {
	sch := compile(t, printedSchema(t))
	var paths []string
	for path, typ := range keyTypes() {
		if typ == durationType {
			paths = append(paths, path)
		}
	}
	if len(paths) < 5 {
		t.Fatalf("duration keys: %v", paths)
	}
	slices.Sort(paths)
	for _, tc := range durationCases {
		if _, err := time.ParseDuration(tc.value); (err == nil) != tc.ok {
			t.Errorf("time.ParseDuration(%q): %v: fix the table", tc.value, err)
		}
		if got := loaderTakesDuration(tc.value); got != tc.ok {
			t.Errorf("the loader takes %q: %v, want %v", tc.value, got, tc.ok)
		}
		for _, path := range paths {
			got := len(schemaProblems(t, sch, instanceAt(path, tc.value))) == 0
			if got != tc.ok {
				t.Errorf("the schema takes %s: %q: %v, want %v", path, tc.value, got, tc.ok)
			}
		}
	}
}

// loaderTakesDuration reports whether the loader takes s, a YAML string, as
// a duration.
func loaderTakesDuration(s string) bool {
	l := newLoader("d.yaml", envOf(nil))
	l.value(&yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: s}, durationType, "d")
	return len(l.errs) == 0
}

// instanceAt is the smallest instance with v at the key path.
func instanceAt(path string, v any) any {
	parts := strings.Split(path, ".")
	for i := len(parts) - 1; i >= 0; i-- {
		switch p := parts[i]; {
		case p == "*":
			v = map[string]any{"x": v}
		case strings.HasSuffix(p, "[]"):
			v = map[string]any{strings.TrimSuffix(p, "[]"): []any{v}}
		default:
			v = map[string]any{p: v}
		}
	}
	return v
}

// subschemaPattern is the pattern of the schema at a key path.
func subschemaPattern(t *testing.T, path string) *regexp.Regexp {
	keys, problems := schemaKeys(printedSchema(t))
	if problems != nil {
		t.Fatal(problems)
	}
	p, ok := keys[path]["pattern"].(string)
	if !ok {
		t.Fatalf("no pattern at %s", path)
	}
	// The validator's engine, Go's regexp.
	return regexp.MustCompile(p)
}

// Every string up to 5 characters over the alphabet of durations: the
// schema's pattern takes exactly what the loader does.
func TestDurationPatternIsTheLoaders(t *testing.T) {
	re := subschemaPattern(t, "rules[].cooldown")
	alphabet := []string{"0", "1", ".", "-", "+", "s", "m", "h", "n", "u", "µ", "μ", "d", " "}
	n := 0
	each(alphabet, 5, func(s string) {
		n++
		if got, want := re.MatchString(s), loaderTakesDuration(s); got != want {
			t.Errorf("%q: the schema takes it: %v, the loader: %v", s, got, want)
		}
	})
	if n < 500000 {
		t.Errorf("tried %d strings", n)
	}
}

// Every string up to 6 characters over the alphabet of placeholders: the
// schema's placeholder pattern matches exactly the strings that expansion
// turns into another value (some ${...}, and no error).
func TestPlaceholderPatternIsExpansions(t *testing.T) {
	re := subschemaPattern(t, "actions.*.retry.max_attempts")
	alphabet := []string{"$", "{", "}", "A", "1", ":", "-", "x"}
	each(alphabet, 6, func(s string) {
		refs := 0
		_, err := expand(s, func(string) (string, bool) { refs++; return "v", true })
		if got, want := re.MatchString(s), err == nil && refs > 0; got != want {
			t.Errorf("%q: the schema takes it as a placeholder: %v, expansion: %v, %d variables", s, got, err, refs)
		}
	})
}

// each calls f with every string of up to max symbols of alphabet.
func each(alphabet []string, max int, f func(string)) {
	var gen func(prefix string, left int)
	gen = func(prefix string, left int) {
		f(prefix)
		if left == 0 {
			return
		}
		for _, a := range alphabet {
			gen(prefix+a, left-1)
		}
	}
	gen("", max)
}

func TestWholeConfig(t *testing.T) {
	cases := []struct {
		block, want, err string
	}{
		{"clusters:\n  - name: a\n", "clusters:\n  - name: a\n", ""},
		{"# a comment\nrules: []\n", "# a comment\nrules: []\n", ""},
		{"  - name: rqlite\n    source: {type: poll}\n", "clusters:\n  - name: rqlite\n    source: {type: poll}\n", ""},
		{"  - name: r\n    when: leaderless\n  - name: s\n    when: 'true'\n", "rules:\n  - name: r\n    when: leaderless\n  - name: s\n    when: 'true'\n", ""},
		{"events:\n  leaderhook: {}\n", "", ""},                  // another program's config
		{"- {at: 0s, eventType: state.is_leaderless}\n", "", ""}, // another file's list
		{"  - name: r\n    source: {}\n    when: x\n", "", "neither a cluster nor a rule"},
		{"  - name: r\n    when: x\n  - name: c\n    source: {}\n", "", "cannot tell"},
		{"  page: {type: webhook}\n", "", "cannot tell what it belongs to"},
	}
	for _, tc := range cases {
		got, err := wholeConfig(tc.block)
		if got != tc.want || (err == nil) != (tc.err == "") || (err != nil && !strings.Contains(err.Error(), tc.err)) {
			t.Errorf("wholeConfig(%q) = %q, %v; want %q, %q", tc.block, got, err, tc.want, tc.err)
		}
	}
}
