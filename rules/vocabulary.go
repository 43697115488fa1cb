package rules

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/expr-lang/expr/ast"
	"github.com/expr-lang/expr/parser"

	"github.com/leaderhook/leaderhook/event"
	"github.com/leaderhook/leaderhook/field"
)

// This file checks what conditions compare `type`, `trigger` and
// `leaderless` with. The type checker accepts `type == "state.isleaderless"`
// (a string compared with a string), yet the rule never fires: `type` only
// takes the detector's two state types. Each check is exact: it reports
// only what can never hold, never what merely looks odd.

// vocabulary holds, for each checked variable, every value it can take in
// one rule.
type vocabulary map[string][]string

// vocabularyOf returns the values `type` and `trigger` take in rule r: a
// scheduled rule is evaluated only at its schedule times, the others on
// events, on time, on changes of the members' health and when a window of
// expected changes opens or ends early (Engine.Expect).
func vocabularyOf(r *Rule) vocabulary {
	trigger := []string{TriggerEvent, TriggerTime, TriggerHealth, TriggerExpect}
	if r.Schedule != "" {
		trigger = []string{TriggerSchedule}
	}
	return vocabulary{"type": {event.HasLeader, event.Leaderless}, "trigger": trigger,
		"change_kind": {"", event.ChangeTransfer, event.ChangeFailover, event.ChangeUnknown}}
}

// checkVocabulary appends to errs the vocabulary errors of each rule whose
// `when` has no other error.
func checkVocabulary(rs []Rule, errs field.List) field.List {
	for i := range rs {
		path := "rules[" + strconv.Itoa(i) + "].when"
		if rs[i].When == "" || slices.ContainsFunc(errs, func(e *field.Error) bool { return e.Path == path }) {
			continue
		}
		for _, e := range vocabularyErrors(rs[i].When, vocabularyOf(&rs[i])) {
			errs.AddAt(path, e.offset, "%s", e.msg)
		}
	}
	return errs
}

// vocabularyErrors returns, at byte offsets into src, the values compared
// with a variable that never takes them, or else the first term of the
// top-level conjunction that contradicts the terms before it.
func vocabularyErrors(src string, vocab vocabulary) []exprError {
	tree, err := parser.Parse(src)
	if err != nil || shadows(tree.Node, vocab) {
		return nil
	}
	var errs []exprError
	walk(tree.Node, func(n ast.Node) {
		if c, ok := comparison(n, vocab); ok {
			errs = append(errs, c.unknownValues(src, vocab)...)
		}
	})
	if len(errs) > 0 {
		return errs
	}
	if e, ok := contradiction(src, tree.Node, vocab); ok {
		return []exprError{e}
	}
	return nil
}

// shadows reports whether the expression declares a variable (let) with
// the name of a checked one: its comparisons are then not about the rule
// variable.
func shadows(root ast.Node, vocab vocabulary) bool {
	found := false
	walk(root, func(n ast.Node) {
		if d, ok := n.(*ast.VariableDeclaratorNode); ok && (vocab[d.Name] != nil || d.Name == "leaderless") {
			found = true
		}
	})
	return found
}

// walk calls f on every node of the tree.
func walk(root ast.Node, f func(ast.Node)) {
	ast.Walk(&root, visitor(f))
}

type visitor func(ast.Node)

func (v visitor) Visit(n *ast.Node) { v(*n) }

// compared is a checked variable compared with string literals: `name ==
// "v"`, `name != "v"`, `"v" == name` or `name in ["v", ...]`.
type compared struct {
	name    string
	negated bool              // != : the values are excluded
	values  []*ast.StringNode // the literals, for their positions
	partial bool              // the list holds more than literals
}

func comparison(n ast.Node, vocab vocabulary) (compared, bool) {
	b, ok := n.(*ast.BinaryNode)
	if !ok {
		return compared{}, false
	}
	switch b.Operator {
	case "==", "!=":
		for _, pair := range [][2]ast.Node{{b.Left, b.Right}, {b.Right, b.Left}} {
			id, isIdent := pair[0].(*ast.IdentifierNode)
			s, isString := pair[1].(*ast.StringNode)
			if isIdent && isString && vocab[id.Value] != nil {
				return compared{name: id.Value, negated: b.Operator == "!=", values: []*ast.StringNode{s}}, true
			}
		}
	case "in":
		id, isIdent := b.Left.(*ast.IdentifierNode)
		list, isList := b.Right.(*ast.ArrayNode)
		if !isIdent || !isList || vocab[id.Value] == nil {
			return compared{}, false
		}
		c := compared{name: id.Value}
		for _, item := range list.Nodes {
			if s, ok := item.(*ast.StringNode); ok {
				c.values = append(c.values, s)
			} else {
				c.partial = true
			}
		}
		return c, true
	}
	return compared{}, false
}

// unknownValues reports each literal the variable never equals.
func (c compared) unknownValues(src string, vocab vocabulary) []exprError {
	var errs []exprError
	for _, s := range c.values {
		if !slices.Contains(vocab[c.name], s.Value) {
			note := triggerNote(c.name, vocab)
			if c.name == "type" && (s.Value == event.SplitBrain || s.Value == event.SplitBrainResolved) {
				note = " (a split brain reaches rules as split_brain and leaders)"
			}
			errs = append(errs, exprError{offset: byteOffset(src, s.Location().From),
				msg: fmt.Sprintf("%s is never %q: valid values: %s%s", c.name, s.Value, quoteAll(vocab[c.name]), note)})
		}
	}
	return errs
}

// triggerNote says why a value of trigger that exists elsewhere is not
// one of this rule's.
func triggerNote(name string, vocab vocabulary) string {
	switch {
	case name != "trigger":
		return ""
	case slices.Contains(vocab[name], TriggerSchedule):
		return " (the rule has a schedule: it is evaluated only at its schedule times)"
	}
	return fmt.Sprintf(" (%q only in a rule with a schedule)", TriggerSchedule)
}

func quoteAll(values []string) string {
	quoted := make([]string, len(values))
	for i, v := range values {
		quoted[i] = strconv.Quote(v)
	}
	return strings.Join(quoted, ", ")
}

// term is a conjunct of the condition that restricts one variable to some
// of its values. leaderless restricts type: it is true exactly when type
// is state.is_leaderless.
type term struct {
	name       string
	allows     []string
	from       int // rune offset of the term
	text       string
	leaderless bool // the term is about leaderless
}

// contradiction returns an error at the first conjunct of the condition
// that no value of its variable satisfies together with the conjuncts
// before it.
func contradiction(src string, root ast.Node, vocab vocabulary) (exprError, bool) {
	allowed := map[string][]string{}
	prior := map[string][]term{}
	for _, c := range conjuncts(root) {
		t, ok := termOf(c, vocab)
		if !ok {
			continue
		}
		before, seen := allowed[t.name]
		if !seen {
			before = vocab[t.name]
		}
		left := slices.DeleteFunc(slices.Clone(before), func(v string) bool { return !slices.Contains(t.allows, v) })
		if len(left) == 0 {
			return exprError{offset: byteOffset(src, t.from), msg: neverTrue(t, prior[t.name])}, true
		}
		allowed[t.name] = left
		prior[t.name] = append(prior[t.name], t)
	}
	return exprError{}, false
}

func neverTrue(t term, prior []term) string {
	if len(prior) == 0 {
		return fmt.Sprintf("the condition is never true: %s never holds", t.text)
	}
	texts := make([]string, len(prior))
	why := ""
	for i, p := range prior {
		texts[i] = p.text
		if p.leaderless != t.leaderless {
			why = fmt.Sprintf(" (leaderless is true exactly when type is %q)", event.Leaderless)
		}
	}
	return fmt.Sprintf("the condition is never true: %s contradicts %s%s", t.text, strings.Join(texts, " && "), why)
}

// conjuncts flattens the top-level && of the condition.
func conjuncts(n ast.Node) []ast.Node {
	if b, ok := n.(*ast.BinaryNode); ok && (b.Operator == "&&" || b.Operator == "and") {
		return append(conjuncts(b.Left), conjuncts(b.Right)...)
	}
	return []ast.Node{n}
}

// termOf recognizes leaderless, a comparison of type or trigger with
// literals, and the negation of either.
func termOf(n ast.Node, vocab vocabulary) (term, bool) {
	switch n := n.(type) {
	case *ast.UnaryNode:
		if n.Operator != "!" && n.Operator != "not" {
			return term{}, false
		}
		t, ok := termOf(n.Node, vocab)
		t.allows = excluding(vocab[t.name], t.allows)
		t.from, t.text = n.Location().From, n.String()
		return t, ok
	case *ast.IdentifierNode:
		if n.Value != "leaderless" {
			return term{}, false
		}
		return term{name: "type", allows: []string{event.Leaderless}, from: n.Location().From, text: n.Value, leaderless: true}, true
	case *ast.BinaryNode:
		return comparisonTerm(n, vocab)
	}
	return term{}, false
}

// comparisonTerm recognizes `type == "..."` and the like, and leaderless
// compared with true or false.
func comparisonTerm(n *ast.BinaryNode, vocab vocabulary) (term, bool) {
	from, text := n.Left.Location().From, n.String()
	if c, ok := comparison(n, vocab); ok && !c.partial {
		values := make([]string, len(c.values))
		for i, s := range c.values {
			values[i] = s.Value
		}
		if c.negated {
			values = excluding(vocab[c.name], values)
		}
		return term{name: c.name, allows: values, from: from, text: text}, true
	}
	if n.Operator != "==" && n.Operator != "!=" {
		return term{}, false
	}
	for _, pair := range [][2]ast.Node{{n.Left, n.Right}, {n.Right, n.Left}} {
		id, isIdent := pair[0].(*ast.IdentifierNode)
		b, isBool := pair[1].(*ast.BoolNode)
		if isIdent && isBool && id.Value == "leaderless" {
			allows := []string{event.Leaderless}
			if b.Value != (n.Operator == "==") {
				allows = []string{event.HasLeader}
			}
			return term{name: "type", allows: allows, from: from, text: text, leaderless: true}, true
		}
	}
	return term{}, false
}

// excluding returns the values of all that are not in some.
func excluding(all, some []string) []string {
	return slices.DeleteFunc(slices.Clone(all), func(v string) bool { return slices.Contains(some, v) })
}
