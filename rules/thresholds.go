package rules

import (
	"math"
	"time"

	"github.com/expr-lang/expr/ast"
)

// This file finds when time alone flips a comparison with leaderless_for or
// leader_for written with arithmetic, such as `leaderless_for >= 2 *
// duration("30s")` or `leaderless_for + duration("10s") >= duration("1m")`:
// the durations written in it are not the instants it flips at.

// comparisons are the operators whose value flips as a duration grows.
var comparisons = map[string]bool{"<": true, ">": true, "<=": true, ">=": true, "==": true, "!=": true}

// linear is a*x + b, where x is how long the cluster has held its state,
// in nanoseconds: leaderless_for while leaderless, leader_for otherwise,
// the other being 0.
type linear struct{ a, b float64 }

// linearOf returns the operand n as a linear function of the duration
// variable named x, the other being 0, if it is one: constants, the
// duration variables, and their sums, differences and products by a
// constant.
func linearOf(n ast.Node, x string) (linear, bool) {
	switch n := n.(type) {
	case *ast.IdentifierNode:
		if n.Value == x {
			return linear{a: 1}, true
		}
		return linear{}, isDurationVariable(n.Value)
	case *ast.ConstantNode:
		d, ok := n.Value.(time.Duration)
		return linear{b: float64(d)}, ok
	case *ast.IntegerNode:
		return linear{b: float64(n.Value)}, true
	case *ast.FloatNode:
		return linear{b: n.Value}, true
	case *ast.UnaryNode:
		f, ok := linearOf(n.Node, x)
		if n.Operator == "-" {
			f = linear{a: -f.a, b: -f.b}
		}
		return f, ok && (n.Operator == "-" || n.Operator == "+")
	case *ast.BinaryNode:
		return linearOfBinary(n, x)
	}
	return linear{}, false
}

func linearOfBinary(n *ast.BinaryNode, x string) (linear, bool) {
	l, lok := linearOf(n.Left, x)
	r, rok := linearOf(n.Right, x)
	if !lok || !rok {
		return linear{}, false
	}
	switch {
	case n.Operator == "+":
		return linear{a: l.a + r.a, b: l.b + r.b}, true
	case n.Operator == "-":
		return linear{a: l.a - r.a, b: l.b - r.b}, true
	case n.Operator == "*" && (l.a == 0 || r.a == 0):
		return linear{a: l.a*r.b + r.a*l.b, b: l.b * r.b}, true
	case n.Operator == "/" && r.a == 0 && r.b != 0:
		return linear{a: l.a / r.b, b: l.b / r.b}, true
	}
	return linear{}, false
}

// flipsAt collects the instants, as durations of the state, at which the
// comparisons of an expression with the duration variable named x flip
// while x grows and the other is 0.
type flipsAt struct {
	x        string
	instants []time.Duration
}

func (f *flipsAt) Visit(node *ast.Node) {
	n, ok := (*node).(*ast.BinaryNode)
	if !ok || !comparisons[n.Operator] {
		return
	}
	l, lok := linearOf(n.Left, f.x)
	r, rok := linearOf(n.Right, f.x)
	if !lok || !rok || l.a == r.a {
		return
	}
	// Both sides are equal at x; the comparison flips at the first whole
	// nanosecond from there (the engine wakes one later for >).
	x := math.Ceil((r.b - l.b) / (l.a - r.a))
	if x > 0 && x < math.MaxInt64 {
		f.instants = append(f.instants, time.Duration(x))
	}
}

// thresholdsOf returns the instants at which time alone flips a comparison
// of the compiled expression's tree: while leaderless, as leaderless_for
// grows, and while led, as leader_for does.
func thresholdsOf(tree ast.Node) []time.Duration {
	var instants []time.Duration
	for _, x := range []string{"leaderless_for", "leader_for"} {
		f := flipsAt{x: x}
		ast.Walk(&tree, &f)
		instants = append(instants, f.instants...)
	}
	return instants
}
