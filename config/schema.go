package config

import (
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

var (
	configType   = reflect.TypeFor[Config]()
	durationType = reflect.TypeFor[time.Duration]()
)

// checkNode walks the YAML tree against the Go type it will decode into, so
// that unknown keys and wrong types are reported at their line and column.
// koanf loses positions; this walk is why errors can name them.
func (l *loader) checkNode(n *yaml.Node, t reflect.Type, path string) {
	if n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
		return // an empty value leaves the default
	}
	if t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch {
	case t == durationType:
		if n.Kind != yaml.ScalarNode || n.Tag != "!!str" {
			l.errorAt(n, path, "want a duration such as 30s, 5m or 1h30m, got %s", describe(n))
			return
		}
		if _, err := time.ParseDuration(n.Value); err != nil {
			l.errorAt(n, path, "want a duration such as 30s, 5m or 1h30m, got %q", n.Value)
		}
	case t.Kind() == reflect.Struct:
		if n.Kind != yaml.MappingNode {
			l.errorAt(n, path, "want a mapping of %s, got %s", strings.Join(structKeys(t), ", "), describe(n))
			return
		}
		fields := structFields(t)
		l.eachKey(n, path, func(key *yaml.Node, value *yaml.Node, p string) {
			f, ok := fields[key.Value]
			if !ok {
				l.errorAt(key, p, "unknown key %q (valid: %s)", key.Value, strings.Join(structKeys(t), ", "))
				return
			}
			l.checkNode(value, f.Type, p)
		})
	case t.Kind() == reflect.Map:
		if n.Kind != yaml.MappingNode {
			l.errorAt(n, path, "want a mapping, got %s", describe(n))
			return
		}
		l.eachKey(n, path, func(_ *yaml.Node, value *yaml.Node, p string) {
			l.checkNode(value, t.Elem(), p)
		})
	case t.Kind() == reflect.Slice:
		if n.Kind != yaml.SequenceNode {
			l.errorAt(n, path, "want a list, got %s", describe(n))
			return
		}
		for i, item := range n.Content {
			l.checkNode(item, t.Elem(), path+"["+strconv.Itoa(i)+"]")
		}
	default:
		l.checkScalar(n, t, path)
	}
}

func (l *loader) checkScalar(n *yaml.Node, t reflect.Type, path string) {
	want := map[reflect.Kind]struct{ tag, name string }{
		reflect.String: {"!!str", "a string"},
		reflect.Int:    {"!!int", "an integer"},
		reflect.Bool:   {"!!bool", "true or false"},
	}[t.Kind()]
	if want.tag == "" {
		l.errorAt(n, path, "unsupported config type %s", t)
		return
	}
	if n.Kind != yaml.ScalarNode || n.Tag != want.tag {
		hint := ""
		if t.Kind() == reflect.String && n.Kind == yaml.ScalarNode {
			hint = " (quote it)"
		}
		l.errorAt(n, path, "want %s, got %s%s", want.name, describe(n), hint)
	}
}

// eachKey visits a mapping's entries, reporting duplicate keys.
func (l *loader) eachKey(n *yaml.Node, path string, visit func(key, value *yaml.Node, path string)) {
	seen := map[string]int{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		key, value := n.Content[i], n.Content[i+1]
		p := key.Value
		if path != "" {
			p = path + "." + key.Value
		}
		if line, dup := seen[key.Value]; dup {
			l.errorAt(key, p, "duplicate key %q (first at line %d)", key.Value, line)
			continue
		}
		seen[key.Value] = key.Line
		visit(key, value, p)
	}
}

func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	}
	kind := map[string]string{"!!int": "integer", "!!bool": "boolean", "!!float": "number", "!!str": "string", "!!timestamp": "timestamp"}[n.Tag]
	if kind == "" {
		kind = "value"
	}
	return fmt.Sprintf("%s %s", kind, strconv.Quote(n.Value))
}

type structField struct {
	Type reflect.Type
}

func structFields(t reflect.Type) map[string]structField {
	out := map[string]structField{}
	for i := range t.NumField() {
		f := t.Field(i)
		if name := tagName(f); name != "" {
			out[name] = structField{Type: f.Type}
		}
	}
	return out
}

func structKeys(t reflect.Type) []string {
	var keys []string
	for i := range t.NumField() {
		if name := tagName(t.Field(i)); name != "" {
			keys = append(keys, name)
		}
	}
	return keys
}

func tagName(f reflect.StructField) string {
	name, _, _ := strings.Cut(f.Tag.Get("koanf"), ",")
	if name == "-" {
		return ""
	}
	return name
}

// expandEnv replaces ${VAR} and ${VAR:-default} in scalar values (never in
// keys, and never in the raw text, so a secret cannot inject YAML). $${
// stands for a literal ${.
func (l *loader) expandEnv(n *yaml.Node, path string) {
	switch n.Kind {
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			p := n.Content[i].Value
			if path != "" {
				p = path + "." + p
			}
			l.expandEnv(n.Content[i+1], p)
		}
	case yaml.SequenceNode:
		for i, c := range n.Content {
			l.expandEnv(c, path+"["+strconv.Itoa(i)+"]")
		}
	case yaml.ScalarNode:
		if !strings.Contains(n.Value, "$") {
			return
		}
		out, err := expand(n.Value, l.env)
		if err != nil {
			l.errorAt(n, path, "%v", err)
			return
		}
		n.Value = out
	}
}

func expand(s string, env func(string) (string, bool)) (string, error) {
	var b strings.Builder
	for {
		i := strings.Index(s, "$")
		if i < 0 || i+1 >= len(s) {
			b.WriteString(s)
			return b.String(), nil
		}
		b.WriteString(s[:i])
		switch {
		case strings.HasPrefix(s[i:], "$${"):
			b.WriteString("${")
			s = s[i+3:]
		case s[i+1] == '{':
			end := strings.IndexByte(s[i:], '}')
			if end < 0 {
				return "", fmt.Errorf("unclosed ${ in %q", s)
			}
			ref := s[i+2 : i+end]
			name, def, hasDef := strings.Cut(ref, ":-")
			if !validEnvName(name) {
				return "", fmt.Errorf("${%s}: %q is not an environment variable name", ref, name)
			}
			v, ok := env(name)
			switch {
			case ok && (v != "" || !hasDef):
				b.WriteString(v)
			case hasDef:
				b.WriteString(def)
			default:
				return "", fmt.Errorf("environment variable %s is not set (use ${%s:-default} for a default)", name, name)
			}
			s = s[i+end+1:]
		default:
			b.WriteByte('$')
			s = s[i+1:]
		}
	}
}

func validEnvName(s string) bool {
	if s == "" {
		return false
	}
	for i, c := range s {
		if c != '_' && !(c >= 'A' && c <= 'Z') && !(c >= 'a' && c <= 'z') && !(i > 0 && c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}

// toValue converts a checked YAML tree into the maps, lists and scalars
// koanf holds.
func toValue(n *yaml.Node) any {
	if n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	switch n.Kind {
	case yaml.MappingNode:
		m := make(map[string]any, len(n.Content)/2)
		for i := 0; i+1 < len(n.Content); i += 2 {
			m[n.Content[i].Value] = toValue(n.Content[i+1])
		}
		return m
	case yaml.SequenceNode:
		s := make([]any, 0, len(n.Content))
		for _, c := range n.Content {
			s = append(s, toValue(c))
		}
		return s
	}
	switch n.Tag {
	case "!!null":
		return nil
	case "!!int":
		if v, err := strconv.ParseInt(n.Value, 0, 64); err == nil {
			return int(v)
		}
	case "!!bool":
		var b bool
		if err := n.Decode(&b); err == nil {
			return b
		}
	case "!!float":
		if v, err := strconv.ParseFloat(n.Value, 64); err == nil {
			return v
		}
	}
	return n.Value
}

// envOverrides turns LEADERHOOK_ variables that name a scalar key of the
// schema (LEADERHOOK_STATE_DIR, LEADERHOOK_SERVER__LISTEN) into a nested
// map of typed values. Other LEADERHOOK_ variables, such as secrets read
// with ${LEADERHOOK_TOKEN}, are left alone.
func (l *loader) envOverrides() map[string]any {
	over := map[string]any{}
	for _, key := range overridableKeys(configType, nil) {
		name := EnvPrefix + strings.ToUpper(strings.Join(key.path, "__"))
		raw, ok := l.env(name)
		if !ok {
			continue
		}
		v, err := convert(raw, key.typ)
		if err != nil {
			l.errs = append(l.errs, Diagnostic{File: l.name, Path: strings.Join(key.path, "."), Msg: fmt.Sprintf("from %s: %v", name, err)})
			continue
		}
		m := over
		for _, p := range key.path[:len(key.path)-1] {
			next, ok := m[p].(map[string]any)
			if !ok {
				next = map[string]any{}
				m[p] = next
			}
			m = next
		}
		m[key.path[len(key.path)-1]] = v
	}
	return over
}

type overridable struct {
	path []string
	typ  reflect.Type
}

// overridableKeys lists the scalar keys of t and of the structs nested in
// it (not inside lists or maps).
func overridableKeys(t reflect.Type, prefix []string) []overridable {
	var out []overridable
	for i := range t.NumField() {
		f := t.Field(i)
		name := tagName(f)
		if name == "" {
			continue
		}
		path := append(slices.Clone(prefix), name)
		ft := f.Type
		switch {
		case ft.Kind() == reflect.Struct:
			out = append(out, overridableKeys(ft, path)...)
		case ft.Kind() == reflect.String || ft.Kind() == reflect.Int || ft.Kind() == reflect.Bool || ft == durationType:
			out = append(out, overridable{path: path, typ: ft})
		}
	}
	return out
}

func convert(raw string, t reflect.Type) (any, error) {
	switch {
	case t == durationType:
		if _, err := time.ParseDuration(raw); err != nil {
			return nil, fmt.Errorf("want a duration such as 30s, got %q", raw)
		}
		return raw, nil
	case t.Kind() == reflect.Int:
		v, err := strconv.Atoi(raw)
		if err != nil {
			return nil, fmt.Errorf("want an integer, got %q", raw)
		}
		return v, nil
	case t.Kind() == reflect.Bool:
		v, err := strconv.ParseBool(raw)
		if err != nil {
			return nil, fmt.Errorf("want true or false, got %q", raw)
		}
		return v, nil
	}
	return raw, nil
}
