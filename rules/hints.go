package rules

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/expr-lang/expr/ast"
)

// This file turns the usual mistakes with durations in expressions into
// messages that say what to write: the type checker's "mismatched types
// time.Duration and int" and the lexer's "bad number syntax" say neither.

// durationOperators are the operators whose operands must have one type.
var durationOperators = map[string]bool{"<": true, ">": true, "<=": true, ">=": true, "==": true, "!=": true, "+": true, "-": true}

// isDurationVariable reports whether name is a rule variable of type
// time.Duration (leaderless_for, leader_for).
func isDurationVariable(name string) bool {
	_, ok := variableTypes[name].(time.Duration)
	return ok
}

// hint is a better message for a checker error at rune offset at.
type hint struct {
	at int
	exprError
}

// durationOperand finds a number or string written where a duration
// belongs, as in `leaderless_for > 30`, and returns a hint at it, in
// runes, for the checker's error at the operator.
func durationOperand(n *ast.BinaryNode) (hint, bool) {
	if !durationOperators[n.Operator] {
		return hint{}, false
	}
	for _, pair := range [][2]ast.Node{{n.Left, n.Right}, {n.Right, n.Left}} {
		id, ok := pair[0].(*ast.IdentifierNode)
		if !ok || !isDurationVariable(id.Value) {
			continue
		}
		if msg, ok := durationInstead(id.Value, pair[1]); ok {
			return hint{at: n.Location().From, exprError: exprError{offset: pair[1].Location().From, msg: msg}}, true
		}
	}
	return hint{}, false
}

// durationInstead says what to write instead of the literal lit next to
// the duration variable name.
func durationInstead(name string, lit ast.Node) (string, bool) {
	var number string
	switch l := lit.(type) {
	case *ast.IntegerNode:
		number = strconv.Itoa(l.Value)
	case *ast.FloatNode:
		number = strconv.FormatFloat(l.Value, 'f', -1, 64)
	case *ast.StringNode:
		example := "30s"
		if _, err := time.ParseDuration(l.Value); err == nil {
			example = l.Value
		}
		return fmt.Sprintf("%s is a duration: write duration(%q) instead of the string %q", name, example, l.Value), true
	default:
		return "", false
	}
	return fmt.Sprintf("%s is a duration: write duration(\"%ss\") (units ms, s, m, h) instead of the number %s", name, number, number), true
}

// bareDuration explains the lexer's "bad number syntax" when the number
// is a duration written without duration(): `leaderless_for >= 10s`. at
// is the byte offset the lexer names, somewhere in the number.
func bareDuration(src string, at int) (exprError, bool) {
	start, end := at, at
	for start > 0 && isNumberChar(src[start-1]) {
		start--
	}
	for end < len(src) && isNumberChar(src[end]) {
		end++
	}
	word := src[start:end]
	if word == "" || !unicode.IsDigit(rune(word[0])) || !strings.ContainsFunc(word, unicode.IsLetter) {
		return exprError{}, false
	}
	example := word
	if _, err := time.ParseDuration(word); err != nil {
		example = "30s"
		if m := daysPattern.FindStringSubmatch(word); m != nil {
			days, _ := strconv.Atoi(m[1])
			example = strconv.Itoa(days*24) + "h"
		}
		return exprError{offset: start, msg: fmt.Sprintf("%s is not a number: write durations as duration(%q) (units ns, us, ms, s, m, h)", word, example)}, true
	}
	return exprError{offset: start, msg: fmt.Sprintf("%s is not a number: write durations as duration(%q)", word, example)}, true
}

// daysPattern matches a number of days, a unit durations do not have.
var daysPattern = regexp.MustCompile(`^(\d{1,6})d$`)

func isNumberChar(c byte) bool {
	return c == '.' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}
