package config

// Where the config meets the kinds of action (actions/kinds): the keys of
// an action are those every action takes (actions.Spec) and those of the
// kind its type names (the kind's Config type). Walking, decoding,
// documenting and the JSON Schema all take them from here.

import (
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/go-viper/mapstructure/v2"
	"gopkg.in/yaml.v3"

	"github.com/leaderhook/leaderhook/actions"
	"github.com/leaderhook/leaderhook/actions/kinds"
)

var specType = reflect.TypeFor[actions.Spec]()

// actionKeys lists the keys of an action of the given kinds, in the order
// messages list them: type, the kinds' own keys, then the other keys every
// action takes. A key that several kinds share comes once, with the type
// it has in the first.
func actionKeys(of ...*actions.Kind) []keyType {
	var typ, rest []keyType
	for _, k := range structKeyTypes(specType) {
		if k.name == "type" {
			typ = append(typ, k)
		} else {
			rest = append(rest, k)
		}
	}
	keys := typ
	for _, kind := range of {
		for _, k := range structKeyTypes(reflect.TypeOf(kind.Config)) {
			if !slices.ContainsFunc(keys, func(have keyType) bool { return have.name == k.name }) {
				keys = append(keys, k)
			}
		}
	}
	return append(keys, rest...)
}

// commonKey reports whether key, or the key it is under
// (retry.max_attempts), is one every action takes.
func commonKey(key string) bool {
	top, _, _ := strings.Cut(key, ".")
	return slices.ContainsFunc(structKeyTypes(specType), func(k keyType) bool { return k.name == top })
}

// actionValue walks an action against the keys of the kind its type names.
// A key of another kind is reported as not applying. When the type names
// no kind, the keys of every kind are allowed, and validation reports the
// type.
func (l *loader) actionValue(n *yaml.Node, path string) any {
	kind := l.actionKind(n)
	if kind == nil {
		return l.fixedKeys(n, actionKeys(kinds.All...), path, nil)
	}
	return l.fixedKeys(n, actionKeys(kind), path, func(key string) string {
		var owners []string
		for _, other := range kinds.All {
			if slices.ContainsFunc(actionKeys(other), func(k keyType) bool { return k.name == key }) {
				owners = append(owners, other.Name)
			}
		}
		if owners == nil {
			return ""
		}
		return fmt.Sprintf("does not apply to %s action (%s only)", withArticle(kind.Name), strings.Join(owners, ", "))
	})
}

// withArticle puts "a" or "an" before a kind's name: a shell, an email.
func withArticle(name string) string {
	if name != "" && strings.ContainsRune("aeiou", rune(name[0])) {
		return "an " + name
	}
	return "a " + name
}

// actionKind returns the kind that an action's type names, or nil when
// there is none to go by.
func (l *loader) actionKind(n *yaml.Node) *actions.Kind {
	if n.Kind != yaml.MappingNode {
		return nil
	}
	t := mappingValue(n, "type")
	if t != nil && t.Kind == yaml.AliasNode {
		t = t.Alias
	}
	if t == nil || t.Kind != yaml.ScalarNode || t.ShortTag() != "!!str" || l.unexpanded[t] {
		return nil
	}
	return kinds.Lookup(t.Value)
}

// decodeAction is a decode hook: it decodes an action's keys into an
// actions.Spec, the kind's into a value of the kind's Config type. The
// schema walk has left out the keys that do not fit; the decoding is
// strict all the same.
func decodeAction(_, to reflect.Type, data any) (any, error) {
	entry, ok := data.(map[string]any)
	if to != specType || !ok {
		return data, nil
	}
	common, own := map[string]any{}, map[string]any{}
	for key, v := range entry {
		if commonKey(key) {
			common[key] = v
		} else {
			own[key] = v
		}
	}
	var spec actions.Spec
	if err := decodeStrict(common, &spec); err != nil {
		return nil, err
	}
	kind := kinds.Lookup(spec.Type)
	if kind == nil {
		return spec, nil // validation reports the type
	}
	cfg := reflect.New(reflect.TypeOf(kind.Config))
	if err := decodeStrict(own, cfg.Interface()); err != nil {
		return nil, fmt.Errorf("%s action: %w", kind.Name, err)
	}
	spec.Config = cfg.Elem().Interface().(actions.Config)
	return spec, nil
}

// decodeStrict decodes a tree of the schema walk into out, refusing keys
// that out does not have.
func decodeStrict(input any, out any) error {
	dec, err := mapstructure.NewDecoder(&mapstructure.DecoderConfig{
		DecodeHook:  mapstructure.StringToTimeDurationHookFunc(),
		ErrorUnused: true,
		Result:      out,
		TagName:     "koanf",
	})
	if err != nil {
		return fmt.Errorf("decoder: %w", err)
	}
	return dec.Decode(input)
}

// withActionDocs adds to docs the descriptions that come from the kinds:
// the types there are, the default timeouts and attempts, each kind's keys
// ("webhook: the endpoint"), and what a kind adds to the description of a
// key every action takes.
func withActionDocs(docs map[string]string) map[string]string {
	var names []string
	for _, k := range kinds.All {
		names = append(names, "`"+k.Name+"`")
	}
	docs["actions.*.type"] = kinds.OneOf(names) + "."
	docs["actions.*.timeout"] = "Time limit of one attempt. Default " +
		byKind(func(k *actions.Kind) string { return "`" + shortDuration(k.Delivery.Timeout) + "`" }) + "."
	docs["actions.*.retry.max_attempts"] = "Attempts in all. Default " +
		byKind(func(k *actions.Kind) string { return strconv.Itoa(k.Delivery.Attempts) }) + "."
	for _, k := range kinds.All {
		for _, key := range sortedKeys(k.Docs) {
			path := "actions.*." + key
			switch {
			case commonKey(key):
				docs[path] += " " + k.Docs[key]
			case docs[path] != "":
				docs[path] += " " + k.Name + ": " + k.Docs[key]
			default:
				docs[path] = k.Name + ": " + k.Docs[key]
			}
		}
	}
	return docs
}

// byKind writes the value each kind has, naming the kinds that have it:
// "`10s` (webhook, slack), `1m` (shell)".
func byKind(value func(*actions.Kind) string) string {
	var values []string
	have := map[string][]string{}
	for _, k := range kinds.All {
		v := value(k)
		if have[v] == nil {
			values = append(values, v)
		}
		have[v] = append(have[v], k.Name)
	}
	if len(values) == 1 {
		return values[0]
	}
	parts := make([]string, len(values))
	for i, v := range values {
		parts[i] = v + " (" + strings.Join(have[v], ", ") + ")"
	}
	return strings.Join(parts, ", ")
}

// shortDuration writes 1m rather than time.Duration's 1m0s.
func shortDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

// withActionEnums adds to enums the values of the keys of every kind that
// take a fixed set; a key that several kinds share takes the values of all.
func withActionEnums(enums map[string][]string) map[string][]string {
	var names []string
	for _, k := range kinds.All {
		names = append(names, k.Name)
		for key, values := range k.Enums {
			path := "actions.*." + key
			for _, v := range values {
				if !slices.Contains(enums[path], v) {
					enums[path] = append(enums[path], v)
				}
			}
		}
	}
	enums["actions.*.type"] = names
	return enums
}

// kindEnums is enums with the values of one kind's keys.
func kindEnums(enums map[string][]string, kind *actions.Kind) map[string][]string {
	out := make(map[string][]string, len(enums))
	for path, values := range enums {
		out[path] = values
	}
	for key, values := range kind.Enums {
		out["actions.*."+key] = values
	}
	return out
}

// action is the JSON Schema of one action: the keys every action takes,
// and one branch per kind, chosen by the type, that allows the keys of
// that kind and no other. A type that names no kind (left out, or a
// placeholder) allows the keys of every kind, as the loader does.
func (w schemaWriter) action(path string) map[string]any {
	var branches []any
	var names []string
	for _, k := range kinds.All {
		names = append(names, k.Name)
		branches = append(branches, map[string]any{
			"if":   typeIs(map[string]any{"const": k.Name}),
			"then": schemaWriter{enums: kindEnums(w.enums, k)}.keys(actionKeys(k), path),
		})
	}
	branches = append(branches, map[string]any{
		"if":   typeIs(map[string]any{"enum": names}),
		"else": w.keys(actionKeys(kinds.All...), path),
	})
	common := w.keys(structKeyTypes(specType), path)
	delete(common, "additionalProperties") // the branches decide
	common["allOf"] = branches
	return common
}

func typeIs(schema map[string]any) map[string]any {
	return map[string]any{"properties": map[string]any{"type": schema}, "required": []string{"type"}}
}
