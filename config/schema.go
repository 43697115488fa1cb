package config

import (
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/leaderhook/leaderhook/actions/kinds"
)

var (
	configType   = reflect.TypeFor[Config]()
	durationType = reflect.TypeFor[time.Duration]()
)

// maxValues bounds the values one walk of the tree visits. Aliases let a
// small file stand for a huge tree; no real config comes near this.
const maxValues = 1 << 20

// value walks the YAML tree against the Go type it will decode into and
// returns what koanf should hold for it. koanf loses positions; this walk is
// why unknown keys and wrong types can be reported at their line and
// column. A part that does not fit is reported, marked bad and left out
// (nil, which decodes to the zero value), so that the rest can still be
// decoded and validated in the same run.
func (l *loader) value(n *yaml.Node, t reflect.Type, path string) any {
	if l.values++; l.values > maxValues {
		if l.values == maxValues+1 {
			l.errorAt(n, path, "the config expands to more than %d values (through aliases?)", maxValues)
		}
		return nil
	}
	if n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	l.recordEnvUse(n, path)
	if l.unexpanded[n] {
		l.markBad(path) // reported by expandEnv
		return nil
	}
	if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
		return nil // an empty value leaves the default
	}
	if t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch {
	case t == durationType:
		return l.duration(n, path)
	case t == specType:
		return l.actionValue(n, path)
	case t.Kind() == reflect.Struct:
		return l.fixedKeys(n, structKeyTypes(t), path, nil)
	case t.Kind() == reflect.Map:
		return l.mapValue(n, t, path)
	case t.Kind() == reflect.Slice:
		return l.sliceValue(n, t, path)
	default:
		return l.scalar(n, t, path)
	}
}

// fixedKeys walks a mapping that takes the given keys. misplaced, if not
// nil, explains a key that is not one of them but belongs elsewhere, or
// returns "" when the key is unknown everywhere.
func (l *loader) fixedKeys(n *yaml.Node, keys []keyType, path string, misplaced func(key string) string) any {
	if n.Kind != yaml.MappingNode {
		l.errorAt(n, path, "want a mapping of %s, got %s", strings.Join(keyNames(keys), ", "), describe(n))
		return nil
	}
	m := map[string]any{}
	l.eachKey(n, path, func(key, value *yaml.Node, p string) {
		i := slices.IndexFunc(keys, func(k keyType) bool { return k.name == key.Value })
		if i < 0 {
			l.unknownKey(key, value, p, keys, misplaced)
			return
		}
		v := l.value(value, keys[i].typ, p)
		if v == nil && l.bad[p] {
			// A check across this mapping's keys would miss this one.
			l.partial[path] = true
		}
		m[key.Value] = v
	})
	return m
}

// unknownKey reports a key that a mapping does not take: as belonging
// elsewhere when misplaced says so, at the value, where validation errors
// are placed; or else as unknown, at the key, with the keys there are.
func (l *loader) unknownKey(key, value *yaml.Node, path string, keys []keyType, misplaced func(string) string) {
	if misplaced != nil {
		if msg := misplaced(key.Value); msg != "" {
			l.errorAt(value, path, "%s", msg)
			return
		}
	}
	l.errorAt(key, path, "unknown key %q (valid: %s)", key.Value, strings.Join(keyNames(keys), ", "))
}

func (l *loader) mapValue(n *yaml.Node, t reflect.Type, path string) any {
	if n.Kind != yaml.MappingNode {
		l.errorAt(n, path, "want a mapping, got %s", describe(n))
		return nil
	}
	m := map[string]any{}
	l.eachKey(n, path, func(key, value *yaml.Node, p string) {
		// A bad entry stays as nil: its name still exists for the checks
		// of references to it.
		m[key.Value] = l.value(value, t.Elem(), p)
	})
	return m
}

func (l *loader) sliceValue(n *yaml.Node, t reflect.Type, path string) any {
	if n.Kind != yaml.SequenceNode {
		l.errorAt(n, path, "want a list, got %s", describe(n))
		return nil
	}
	// A bad item stays as nil, so that later items keep their index.
	s := make([]any, 0, len(n.Content))
	for i, item := range n.Content {
		s = append(s, l.value(item, t.Elem(), path+"["+strconv.Itoa(i)+"]"))
	}
	return s
}

func (l *loader) duration(n *yaml.Node, path string) any {
	if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!str" {
		l.errorAt(n, path, "want a duration such as 30s, 5m or 1h30m, got %s", describe(n))
		return nil
	}
	if _, err := time.ParseDuration(n.Value); err != nil {
		l.errorAt(n, path, "want a duration such as 30s, 5m or 1h30m, got %q", n.Value)
		return nil
	}
	return n.Value // the decode hook parses it
}

var scalarKinds = map[reflect.Kind]struct{ tag, name string }{
	reflect.String: {"!!str", "a string"},
	reflect.Int:    {"!!int", "an integer"},
	reflect.Bool:   {"!!bool", "true or false"},
}

func (l *loader) scalar(n *yaml.Node, t reflect.Type, path string) any {
	want, ok := scalarKinds[t.Kind()]
	if !ok {
		l.errorAt(n, path, "unsupported config type %s", t)
		return nil
	}
	if n.Kind == yaml.ScalarNode && t.Kind() == reflect.String && n.ShortTag() == "!!str" {
		return n.Value
	}
	typed := n
	if l.expanded[n] && n.Style == 0 && t.Kind() != reflect.String {
		// `retries: ${RETRIES:-5}` is an integer once expanded. Only the
		// scalar's type is taken from the variable, never structure.
		typed = &yaml.Node{Kind: yaml.ScalarNode, Value: n.Value}
	}
	if typed.Kind != yaml.ScalarNode || typed.ShortTag() != want.tag {
		hint := ""
		if t.Kind() == reflect.String && n.Kind == yaml.ScalarNode {
			hint = " (quote it)"
		}
		l.errorAt(n, path, "want %s, got %s%s", want.name, describe(typed), hint)
		return nil
	}
	v := reflect.New(t)
	if err := typed.Decode(v.Interface()); err != nil {
		// An integer too large for int, say.
		l.errorAt(n, path, "want %s, got %q", want.name, n.Value)
		return nil
	}
	return v.Elem().Interface()
}

// eachKey visits a mapping's entries, reporting duplicate keys at the
// second occurrence (which is then skipped). Entries brought in by a merge
// key (<<: *defaults) come after the mapping's own and never override them.
func (l *loader) eachKey(n *yaml.Node, path string, visit func(key, value *yaml.Node, path string)) {
	seen := map[string]int{}
	var merged [][2]*yaml.Node
	for i := 0; i+1 < len(n.Content); i += 2 {
		key, value := n.Content[i], n.Content[i+1]
		p := joinKey(path, key.Value)
		if isMerge(key) {
			entries, ok := mergeEntries(value)
			if !ok {
				l.errorAt(value, p, "a merge key (<<) takes a mapping or a list of mappings, got %s", describe(value))
			}
			merged = append(merged, entries...)
			continue
		}
		if line, dup := seen[key.Value]; dup {
			l.errorAt(key, p, "duplicate key %q (first at line %d)", key.Value, line)
			continue
		}
		seen[key.Value] = key.Line
		visit(key, value, p)
	}
	for _, e := range merged {
		if _, own := seen[e[0].Value]; !own {
			seen[e[0].Value] = e[0].Line
			visit(e[0], e[1], joinKey(path, e[0].Value))
		}
	}
}

func joinKey(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func isMerge(key *yaml.Node) bool {
	return key.Kind == yaml.ScalarNode && key.ShortTag() == "!!merge"
}

// mergeEntries lists the key/value pairs a merge key brings in, earlier
// mappings first, as YAML gives them precedence. Nested merges are
// followed once each: an anchor is known inside its own node, so aliases
// can form a cycle.
func mergeEntries(n *yaml.Node) ([][2]*yaml.Node, bool) {
	return mergeFrom(n, map[*yaml.Node]bool{})
}

func mergeFrom(n *yaml.Node, done map[*yaml.Node]bool) ([][2]*yaml.Node, bool) {
	if n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	var out [][2]*yaml.Node
	switch n.Kind {
	case yaml.MappingNode:
		if done[n] {
			return nil, true
		}
		done[n] = true
		var nested [][2]*yaml.Node
		for i := 0; i+1 < len(n.Content); i += 2 {
			if isMerge(n.Content[i]) {
				more, _ := mergeFrom(n.Content[i+1], done)
				nested = append(nested, more...)
				continue
			}
			out = append(out, [2]*yaml.Node{n.Content[i], n.Content[i+1]})
		}
		return append(out, nested...), true
	case yaml.SequenceNode:
		for _, item := range n.Content {
			if item.Kind == yaml.AliasNode {
				item = item.Alias
			}
			if item.Kind != yaml.MappingNode {
				return out, false
			}
			more, _ := mergeFrom(item, done)
			out = append(out, more...)
		}
		return out, true
	}
	return nil, false
}

func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	}
	kind := map[string]string{"!!int": "integer", "!!bool": "boolean", "!!float": "number", "!!str": "string", "!!timestamp": "timestamp"}[n.ShortTag()]
	if kind == "" {
		kind = "value"
	}
	return fmt.Sprintf("%s %s", kind, strconv.Quote(n.Value))
}

// keyType is one key of a mapping that takes a fixed set of keys.
type keyType struct {
	name string
	typ  reflect.Type
}

// keysOf lists the keys of a struct type of the config, in field order.
// Those of an action depend on its kind: here they are those of every kind.
func keysOf(t reflect.Type) []keyType {
	if t == specType {
		return actionKeys(kinds.All...)
	}
	return structKeyTypes(t)
}

// structKeyTypes lists the keys of a struct type, by their koanf tags.
func structKeyTypes(t reflect.Type) []keyType {
	var keys []keyType
	for i := range t.NumField() {
		f := t.Field(i)
		if name := tagName(f); name != "" {
			keys = append(keys, keyType{name, f.Type})
		}
	}
	return keys
}

func keyNames(keys []keyType) []string {
	names := make([]string, len(keys))
	for i, k := range keys {
		names[i] = k.name
	}
	return names
}

func tagName(f reflect.StructField) string {
	name, _, _ := strings.Cut(f.Tag.Get("koanf"), ",")
	if name == "-" {
		return ""
	}
	return name
}
