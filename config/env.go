package config

import (
	"fmt"
	"net/url"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/knadh/koanf/providers/env/v2"
	"github.com/knadh/koanf/v2"
	"gopkg.in/yaml.v3"

	"github.com/leaderhook/leaderhook/actions"
)

// EnvPrefix marks environment variables that override config keys:
// LEADERHOOK_STATE_DIR sets state_dir, LEADERHOOK_SERVER__LISTEN sets
// server.listen (a double underscore descends one level).
const EnvPrefix = "LEADERHOOK_"

// expandEnv replaces ${VAR} and ${VAR:-default} in scalar values — never in
// keys, and never in the raw text, so that a variable's value cannot add
// YAML structure. $${ stands for a literal ${. Each node is expanded once
// (aliases are not followed), so a value is never expanded twice; the
// values it took are kept by node, for the actions that take it through
// an alias or a merge (see recordEnvUse).
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
		if !strings.Contains(n.Value, "${") {
			return
		}
		var used []string
		out, err := expandUsing(n.Value, l.env, func(v string) { used = append(used, v) })
		if err != nil {
			l.errorAt(n, path, "%v", err)
			l.unexpanded[n] = true
			return
		}
		vals := make([]envValue, 0, len(used))
		for _, v := range used {
			vals = append(vals, envValue{value: v, inPath: inURLPath(out, v), urlTail: urlTail(v)})
		}
		l.envIn[n] = vals
		l.recordEnvUse(n, path)
		n.Value = out
		l.expanded[n] = true
	}
}

func expand(s string, env func(string) (string, bool)) (string, error) {
	return expandUsing(s, env, nil)
}

// expandUsing is expand that also hands each value taken from the
// environment (not a default) to used, if not nil.
func expandUsing(s string, env func(string) (string, bool), used func(string)) (string, error) {
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
				return "", fmt.Errorf("unclosed ${ in %q (write $${ for a literal ${)", s[i:])
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
				if used != nil {
					used(v)
				}
			case hasDef: // like the shell's :-, an empty value takes the default
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

// actionSecret returns what records the environment's values in an
// action's setting at path, or nil outside actions: a body, header, env
// or argument filled from ${VAR} is where a token goes that no key marks
// as one (a PagerDuty routing key in a body, say), so the action redacts
// those values like its secret. Which keys are left readable depends on
// the action's kind, known later (see envSecrets). inPath says that the
// value went into the path or query of a URL written around it
// (https://api.telegram.org/bot${TOKEN}/...), where tokens go.
func (l *loader) actionSecret(path string) func(envValue) {
	rest, ok := strings.CutPrefix(path, "actions.")
	if !ok {
		return nil
	}
	name, key, _ := strings.Cut(rest, ".")
	key, _, _ = strings.Cut(key, "[")
	key, _, _ = strings.Cut(key, ".")
	return func(v envValue) {
		if l.fromEnv == nil {
			l.fromEnv = map[string][]envValue{}
		}
		v.key = key
		l.fromEnv[name] = append(l.fromEnv[name], v)
	}
}

// recordEnvUse records the values that ${VAR}s put in scalar n in the
// action whose setting at path holds n: where it is written, and where
// the schema walk meets it again through an alias or a merge, in another
// action's settings than the one it is written in.
func (l *loader) recordEnvUse(n *yaml.Node, path string) {
	vals := l.envIn[n]
	if len(vals) == 0 {
		return
	}
	if record := l.actionSecret(path); record != nil {
		for _, v := range vals {
			record(v)
		}
	}
}

// inURLPath reports whether v is in setting after the host of a URL that
// the setting holds, v not being the whole URL.
func inURLPath(setting, v string) bool {
	scheme := strings.Index(setting, "://")
	if scheme < 0 || v == "" || v == setting {
		return false
	}
	hostEnd := strings.IndexAny(setting[scheme+3:], "/?#")
	if hostEnd < 0 {
		return false
	}
	at := strings.Index(setting, v)
	return at >= scheme+3+hostEnd
}

// urlTail returns what follows the host in v when v holds a URL
// (https://discord.com/api/webhooks/ID/TOKEN), without the slash: a URL
// that the environment supplies whole, or the start of, is a secret there
// (Discord's, Mattermost's, a heartbeat's), however its kind shows URLs.
func urlTail(v string) string {
	scheme := strings.Index(v, "://")
	if scheme < 0 {
		return ""
	}
	rest := v[scheme+3:]
	hostEnd := strings.IndexAny(rest, "/?#")
	if hostEnd < 0 {
		return ""
	}
	return strings.TrimPrefix(rest[hostEnd:], "/")
}

// minTokenLen is the length from which a segment of a URL's tail, holding
// both letters and digits, is taken for a token: Discord's, Mattermost's
// hook ids, Slack's last segment, UUIDs (a healthchecks ping) are longer.
const minTokenLen = 16

// holdsToken reports whether a segment of a URL's tail (between /, ?, &,
// =, ; and #) looks like a token: minTokenLen characters or more, with a
// letter and a digit.
func holdsToken(tail string) bool {
	segments := strings.FieldsFunc(tail, func(r rune) bool { return strings.ContainsRune("/?&=;#", r) })
	for _, s := range segments {
		if len(s) >= minTokenLen && strings.ContainsAny(s, "0123456789") && strings.IndexFunc(s, unicode.IsLetter) >= 0 {
			return true
		}
	}
	return false
}

// envValue is a value that a ${VAR} put in the setting key of an action;
// inPath: into the path or query of a URL around it; urlTail: the path
// and query of a URL that the value holds (see urlTail).
type envValue struct {
	key, value string
	inPath     bool
	urlTail    string
}

// tailSecrets returns the forms of a URL's tail that messages may show:
// path and query, the path alone, each as written and decoded; none when
// the tail holds no token (see holdsToken), as /webhooks or /v2/enqueue,
// which say where and are needed to read an error.
func tailSecrets(tail string) []string {
	if !holdsToken(tail) {
		return nil
	}
	path, _, _ := strings.Cut(tail, "?")
	path, _, _ = strings.Cut(path, "#")
	out := []string{tail, path}
	if decoded, err := url.PathUnescape(path); err == nil {
		out = append(out, decoded)
	}
	return out
}

// envSecrets returns the values that ${VAR}s put in the settings of the
// named action, but for those of its type and of the keys its kind (nil if
// unknown) leaves readable: they say where, not who. A value put into
// the path of a URL written around it is a secret all the same: a token
// in a URL's path (a Telegram bot's) is put there so; and so is the path
// of a URL that a value holds when it holds a token, its scheme and host
// staying readable.
func (l *loader) envSecrets(name string, kind *actions.Kind) []string {
	var out []string
	for _, v := range l.fromEnv[name] {
		switch {
		case v.key == "type":
		case !v.inPath && kind != nil && slices.Contains(kind.PlainKeys, v.key):
			out = append(out, tailSecrets(v.urlTail)...)
		default:
			out = append(out, v.value)
		}
	}
	return uniq(out)
}

// uniq returns s without its repeats, in the order of their first
// occurrence: a value that an action takes through an alias as well as
// where it is written is recorded twice.
func uniq(s []string) []string {
	var out []string
	for _, v := range s {
		if !slices.Contains(out, v) {
			out = append(out, v)
		}
	}
	return out
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

// loadOverrides applies LEADERHOOK_ variables that name a scalar key of the
// schema (LEADERHOOK_STATE_DIR, LEADERHOOK_SERVER__LISTEN) on top of the
// file. Other LEADERHOOK_ variables, such as a secret read with
// ${LEADERHOOK_TOKEN}, are left alone. Parse gets a lookup function, not an
// environment list, so the list handed to koanf's env provider is built by
// looking up every key the schema allows.
func (l *loader) loadOverrides(k *koanf.Koanf) error {
	keys := map[string]overridable{}
	var environ []string
	for _, key := range overridableKeys(configType, nil) {
		if v, ok := l.env(key.envName); ok {
			keys[key.envName] = key
			environ = append(environ, key.envName+"="+v)
		}
	}
	if len(environ) == 0 {
		return nil
	}
	p := env.Provider(".", env.Opt{
		Prefix:      EnvPrefix,
		EnvironFunc: func() []string { return environ },
		TransformFunc: func(name, raw string) (string, any) {
			key := keys[name]
			v, err := convert(raw, key.typ)
			if err != nil {
				l.errs = append(l.errs, Diagnostic{File: l.name, Path: key.path, Msg: fmt.Sprintf("from %s: %v", name, err)})
				l.markBad(key.path)
				return "", nil // left out
			}
			l.overridden[key.path] = name
			return key.path, v
		},
	})
	if err := k.Load(p, nil); err != nil {
		return fmt.Errorf("environment overrides: %w", err)
	}
	return nil
}

type overridable struct {
	path    string // server.listen
	envName string // LEADERHOOK_SERVER__LISTEN
	typ     reflect.Type
}

// overridableKeys lists the scalar keys of t, optional ones included, and
// of the structs nested in it (not inside lists or maps, which have no
// fixed names, nor in optional blocks such as ha).
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
		if ft.Kind() == reflect.Pointer && ft.Elem().Kind() != reflect.Struct {
			// An optional scalar (max_clock_skew): the value is its element's.
			ft = ft.Elem()
		}
		switch {
		case ft.Kind() == reflect.Struct:
			out = append(out, overridableKeys(ft, path)...)
		case ft.Kind() == reflect.String || ft.Kind() == reflect.Int || ft.Kind() == reflect.Bool || ft == durationType:
			out = append(out, overridable{
				path:    strings.Join(path, "."),
				envName: EnvPrefix + strings.ToUpper(strings.Join(path, "__")),
				typ:     ft,
			})
		}
	}
	return out
}

// convert types a variable's value for its key, as YAML would have.
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
