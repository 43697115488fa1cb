package config

import (
	"fmt"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/leaderhook/leaderhook/field"
)

// place parses src and places a field error at path and offset, as the
// loader does with the errors of rules.Check and the other validators.
func place(t *testing.T, src, path string, offset int) string {
	t.Helper()
	var doc yaml.Node
	if err := yaml.Unmarshal([]byte(src), &doc); err != nil {
		t.Fatal(err)
	}
	l := newLoader("p.yaml", envOf(nil))
	l.lines = splitLines(src)
	l.root = doc.Content[0]
	d := l.diagnose(&field.Error{Path: path, Offset: offset, Msg: "m"})
	return fmt.Sprintf("%d:%d", d.Line, d.Col)
}

func TestPlace(t *testing.T) {
	cases := []struct {
		name, src, path string
		offset          int // into the value, at "nope" unless -1
		want            string
	}{
		{"whole value", "rules:\n  - when: leaderless && nope\n", "rules[0].when", -1, "2:11"},
		{"plain", "rules:\n  - when: leaderless && nope\n", "rules[0].when", 14, "2:25"},
		{"plain in a flow mapping", "rules: [{name: r, when: leaderless && nope}]\n", "rules[0].when", 14, "1:39"},
		{"double quoted", "rules:\n  - when: \"leaderless && nope\"\n", "rules[0].when", 14, "2:26"},
		{"double quoted with escapes", "r:\n  when: \"id == \\\"x\\\" && \\u00e9 == nope\"\n", "r.when", len(`id == "x" && é == `), "2:35"},
		{"single quoted with a doubled quote", "r:\n  when: 'id == ''x'' && nope'\n", "r.when", len("id == 'x' && "), "2:25"},
		{"characters, not bytes", "r:\n  when: 'id == \"ééé\" && nope'\n", "r.when", len(`id == "ééé" && `), "2:25"},
		{"plain over two lines", "r:\n  when: leaderless &&\n    nope\n", "r.when", len("leaderless && "), "3:5"},
		{"plain with a blank line", "r:\n  when: leaderless &&\n\n    nope\n", "r.when", len("leaderless &&\n"), "4:5"},
		{"quoted over two lines", "r:\n  when: \"leaderless &&\n    nope\"\n", "r.when", len("leaderless && "), "3:5"},
		{"escaped line break", "r:\n  when: \"leader\\\n    less && nope\"\n", "r.when", len("leaderless && "), "3:13"},
		{"escaped line break before the place", "r:\n  when: \"leaderless &&\\\n    nope\"\n", "r.when", len("leaderless &&"), "3:5"},
		{"literal block", "r:\n  when: |\n    leaderless &&\n      nope\n", "r.when", len("leaderless &&\n  "), "4:7"},
		{"literal block after a blank line", "r:\n  when: |\n\n    leaderless && nope\n", "r.when", len("\nleaderless && "), "4:19"},
		{"folded block", "r:\n  when: >\n    leaderless &&\n    nope\n", "r.when", len("leaderless && "), "4:5"},
		{"folded block with a blank line", "r:\n  when: >\n    leaderless\n\n    nope\n", "r.when", len("leaderless\n"), "5:5"},
		{"CR", "r:\r  when: leaderless && nope\r", "r.when", 14, "2:23"},
		{"line separator", "r:\u2028  when: leaderless && nope\n", "r.when", 14, "2:23"},
		{"CRLF", "r:\r\n  when: |\r\n    leaderless &&\r\n    nope\r\n", "r.when", len("leaderless &&\n"), "4:5"},
		{"offset at the end", "r:\n  when: abc\n", "r.when", 3, "2:12"},
		{"offset past the end", "r:\n  when: abc\n", "r.when", 99, "2:12"},
		{"list item", "rules:\n  - actions: [a, b, c]\n", "rules[0].actions[2]", -1, "2:21"},
		{"map entry", "actions:\n  page:\n    type: webhook\n", "actions.page.type", -1, "3:11"},
		{"a key with dots", "rules:\n  - labels:\n      team: db\n      app.kubernetes.io/name: x\n", "rules[0].labels.app.kubernetes.io/name", -1, "4:31"},
		{"a key with dots, missing: its mapping", "rules:\n  - labels:\n      team: db\n", "rules[0].labels.app.kubernetes.io", -1, "3:7"},
		{"missing key: its mapping", "clusters:\n  - source:\n      file: x\n", "clusters[0].source.type", -1, "3:7"},
		{"missing item: its list", "rules:\n  - a\n", "rules[4].when", -1, "2:3"},
		{"through an alias", "x: &s {type: poll}\nclusters:\n  - source: *s\n", "clusters[0].source.type", -1, "1:14"},
		{"through a merge", "x: &s {type: poll}\nclusters:\n  - source: {<<: *s, preset: etcd}\n", "clusters[0].source.type", -1, "1:14"},
		{"a key with brackets", "actions:\n  ok: {type: x}\n  \"bad[1]\": {type: x}\n", "actions.bad[1]", -1, "3:13"},
		{"under a key with brackets", "actions:\n  ok: {type: x}\n  \"bad[1]\": {type: x}\n", "actions.bad[1].type", -1, "3:20"},
		{"a key with brackets not an index", "actions:\n  ok: {type: x}\n  \"bad[x]\": {type: x}\n", "actions.bad[x]", -1, "3:13"},
		{"a key with dots and brackets", "labels:\n  a: x\n  b.c[0]: y\n", "labels.b.c[0]", -1, "3:11"},
		{"own key before merged", "x: &s {type: poll}\nclusters:\n  - source: {<<: *s, type: events}\n", "clusters[0].source.type", -1, "3:28"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := place(t, tc.src, tc.path, tc.offset); got != tc.want {
				t.Errorf("%s at %d: got %s, want %s", tc.path, tc.offset, got, tc.want)
			}
		})
	}
}

// Every offset of a value maps to a position inside the file, one after
// the other, for each style of scalar.
func TestPlaceIsMonotonic(t *testing.T) {
	value := `type == "state.is_leaderless" && leaderless_for >= duration("30s")`
	for _, src := range []string{
		"when: " + value + "\n",
		"when: '" + strings.ReplaceAll(value, "'", "''") + "'\n",
		"when: \"" + strings.ReplaceAll(value, `"`, `\"`) + "\"\n",
		"when: \"" + strings.Replace(strings.ReplaceAll(value, `"`, `\"`), " && ", " && \\\n  ", 1) + "\"\n",
		"when: |\n  " + strings.Replace(value, " && ", " &&\n  ", 1) + "\n",
		"when: >\n  " + strings.Replace(value, " && ", " &&\n  ", 1) + "\n",
	} {
		prevLine, prevCol := 0, 0
		for off := 0; off <= len(value); off++ {
			var line, col int
			fmt.Sscanf(place(t, src, "when", off), "%d:%d", &line, &col)
			if line < prevLine || (line == prevLine && col <= prevCol) || col < 1 {
				t.Fatalf("%q: offset %d at %d:%d, after %d:%d", src, off, line, col, prevLine, prevCol)
			}
			prevLine, prevCol = line, col
		}
	}
}

// An action whose name is invalid because it holds a '[' is reported at
// its own line, not at the first action's.
func TestKeyWithBracketsPlacedAtItsLine(t *testing.T) {
	data := "clusters:\n  - name: a\n    source: {type: events, http: true}\nactions:\n" +
		"  ok: {type: webhook, url: \"https://x.example/h\"}\n  \"bad[1]\": {type: webhook, url: \"https://x.example/h\"}\n" +
		"rules:\n  - {name: r, when: leaderless, actions: [ok]}\n"
	_, _, err := ParseDaemon("c.yaml", []byte(data), envOf(nil))
	if err == nil || !strings.HasPrefix(err.Error(), "c.yaml:6:") {
		t.Errorf("err = %v, want it at c.yaml:6", err)
	}
}
