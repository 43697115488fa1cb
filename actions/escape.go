package actions

import (
	"errors"
	"fmt"
	"text/template"
	"text/template/parse"
)

// escapeFunc and presentFunc are the names under which ParseEscaped's
// escaper and ParseStrict's check are called. A leading underscore keeps
// them apart from the functions users call.
const (
	escapeFunc  = "_escape"
	presentFunc = "_present"
)

// ParseEscaped parses an action template like ParseTemplate, then makes
// every insertion ({{ .LeaderID }}, {{ join ", " .Unreachable }}...)
// pass what it prints through escape. The template's own text is kept as
// written, so that its author's markup works and data cannot add any.
// Conditions, ranges and variables see the values as they are.
func ParseEscaped(name, text string, escape func(string) string) (*template.Template, error) {
	return parseAppending(name, text, template.FuncMap{escapeFunc: escaper(escape)}, escapeFunc)
}

// ParseStrict parses a template whose rendering has no default to fall
// back on (a shell's command and env, a webhook's body): an insertion that
// prints no value fails, as a missing key does, where text/template
// prints "<no value>": `index` of a key the event lacks, a key whose
// value is null.
func ParseStrict(name, text string) (*template.Template, error) {
	return parseAppending(name, text, template.FuncMap{presentFunc: present}, presentFunc)
}

// ParseStrictEscaped is ParseEscaped, failing on no value as ParseStrict
// does.
func ParseStrictEscaped(name, text string, escape func(string) string) (*template.Template, error) {
	funcs := template.FuncMap{presentFunc: present, escapeFunc: escaper(escape)}
	return parseAppending(name, text, funcs, presentFunc, escapeFunc)
}

// errNoValue is what a strict template's insertion of no value fails with.
var errNoValue = errors.New(`no value (a key the event lacks, or null); for a key it may lack, write default "…" (index .Event "key")`)

func present(v any) (any, error) {
	if v == nil {
		return nil, errNoValue
	}
	return v, nil
}

func escaper(escape func(string) string) func(any) string {
	return func(v any) string {
		if v == nil {
			return escape("<no value>") // what text/template prints for it
		}
		return escape(fmt.Sprint(v))
	}
}

// parseAppending parses an action template like ParseTemplate, then
// appends the functions names, in order, to every insertion.
func parseAppending(name, text string, funcs template.FuncMap, names ...string) (*template.Template, error) {
	t, err := ParseTemplate(name, text)
	if err != nil {
		return nil, err
	}
	t.Funcs(funcs)
	for _, tt := range t.Templates() {
		if tt.Tree != nil {
			appendToPrints(tt.Tree, tt.Root, names)
		}
	}
	return t, nil
}

// appendToPrints appends the functions names to every pipeline under n
// whose value is printed, as html/template does with its escapers.
func appendToPrints(tree *parse.Tree, n parse.Node, names []string) {
	switch n := n.(type) {
	case *parse.ListNode:
		if n == nil {
			return
		}
		for _, c := range n.Nodes {
			appendToPrints(tree, c, names)
		}
	case *parse.ActionNode:
		if len(n.Pipe.Decl) > 0 {
			return // {{ $x := ... }} prints nothing
		}
		for _, name := range names {
			ident := parse.NewIdentifier(name).SetTree(tree).SetPos(n.Pos)
			n.Pipe.Cmds = append(n.Pipe.Cmds, &parse.CommandNode{NodeType: parse.NodeCommand, Pos: n.Pos, Args: []parse.Node{ident}})
		}
	case *parse.IfNode:
		appendToPrints(tree, n.List, names)
		appendToPrints(tree, n.ElseList, names)
	case *parse.RangeNode:
		appendToPrints(tree, n.List, names)
		appendToPrints(tree, n.ElseList, names)
	case *parse.WithNode:
		appendToPrints(tree, n.List, names)
		appendToPrints(tree, n.ElseList, names)
	}
}
