package actions

import (
	"fmt"
	"text/template"
	"text/template/parse"
)

// escapeFunc is the name under which ParseEscaped's escaper is called. A
// leading underscore keeps it apart from the functions users call.
const escapeFunc = "_escape"

// ParseEscaped parses an action template like ParseTemplate, then makes
// every insertion ({{ .LeaderID }}, {{ join ", " .Unreachable }}...)
// pass what it prints through escape. The template's own text is kept as
// written, so that its author's markup works and data cannot add any.
// Conditions, ranges and variables see the values as they are.
func ParseEscaped(name, text string, escape func(string) string) (*template.Template, error) {
	t, err := ParseTemplate(name, text)
	if err != nil {
		return nil, err
	}
	t.Funcs(template.FuncMap{escapeFunc: func(v any) string {
		if v == nil {
			return escape("<no value>") // what text/template prints for it
		}
		return escape(fmt.Sprint(v))
	}})
	for _, tt := range t.Templates() {
		if tt.Tree != nil {
			escapeNode(tt.Tree, tt.Root)
		}
	}
	return t, nil
}

// escapeNode appends the escaper to every pipeline under n whose value is
// printed, as html/template does.
func escapeNode(tree *parse.Tree, n parse.Node) {
	switch n := n.(type) {
	case *parse.ListNode:
		if n == nil {
			return
		}
		for _, c := range n.Nodes {
			escapeNode(tree, c)
		}
	case *parse.ActionNode:
		if len(n.Pipe.Decl) > 0 {
			return // {{ $x := ... }} prints nothing
		}
		ident := parse.NewIdentifier(escapeFunc).SetTree(tree).SetPos(n.Pos)
		n.Pipe.Cmds = append(n.Pipe.Cmds, &parse.CommandNode{NodeType: parse.NodeCommand, Pos: n.Pos, Args: []parse.Node{ident}})
	case *parse.IfNode:
		escapeNode(tree, n.List)
		escapeNode(tree, n.ElseList)
	case *parse.RangeNode:
		escapeNode(tree, n.List)
		escapeNode(tree, n.ElseList)
	case *parse.WithNode:
		escapeNode(tree, n.List)
		escapeNode(tree, n.ElseList)
	}
}
