package config

import (
	"cmp"
	"errors"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"

	"gopkg.in/yaml.v3"
)

// This file turns the paths of field errors (`rules[2].when`, with an
// optional byte offset into the value) back into lines and columns. Columns
// count characters, as yaml.v3 does.

// Locator places the key paths of another YAML file leaderhook reads (a
// rule test: tests[0].events[1].at) as the config's own problems are
// placed, so that every file's problems name file, line, column and key.
type Locator struct {
	name  string
	root  *yaml.Node // the document's top node; nil when there is none
	lines []string
}

// NewLocator parses data, named name in diagnostics. When it does not
// parse, diagnostics name no line.
func NewLocator(name string, data []byte) *Locator {
	l := &Locator{name: name, lines: splitLines(string(data))}
	var doc yaml.Node
	if yaml.Unmarshal(data, &doc) == nil && len(doc.Content) > 0 {
		l.root = doc.Content[0]
	}
	return l
}

// At returns a diagnostic of msg at path, or, when the path does not exist
// (a required key left out), at its nearest existing parent. A nil Locator
// places nothing.
func (l *Locator) At(path, msg string) Diagnostic {
	if l == nil {
		return Diagnostic{Path: path, Msg: msg}
	}
	d := Diagnostic{File: l.name, Path: path, Msg: msg}
	if l.root != nil {
		d.Line, d.Col = position(l.lines, lookup(l.root, path))
	}
	return d
}

// DecodeError places what yaml.v3 reports decoding the file: a syntax
// error, or each of its type errors (a key it does not know, a value that
// does not fit), at its line.
func (l *Locator) DecodeError(err error) []Diagnostic {
	ld := &loader{name: l.name, lines: l.lines}
	var te *yaml.TypeError
	if !errors.As(err, &te) {
		return []Diagnostic{ld.indentationTab(ld.syntaxError(err))}
	}
	ds := make([]Diagnostic, len(te.Errors))
	for i, e := range te.Errors {
		ds[i] = ld.syntaxError(errors.New("yaml: " + e))
	}
	return ds
}

// splitLines splits a file into lines at the line breaks yaml.v3 counts:
// LF, CRLF and CR, and NEL, LS and PS.
func splitLines(data string) []string {
	return lineBreaks.Split(data, -1)
}

var lineBreaks = regexp.MustCompile("\r\n|[\r\n\u0085\u2028\u2029]")

// lookup finds the node at a path such as rules[2].when, or, when the path
// does not exist (a required key left out), its nearest existing parent.
func lookup(root *yaml.Node, path string) *yaml.Node {
	n := root
	steps := splitPath(path)
	for i := 0; i < len(steps); i++ {
		step := steps[i]
		var next *yaml.Node
		switch {
		case step.index >= 0 && n.Kind == yaml.SequenceNode && step.index < len(n.Content):
			next = n.Content[step.index]
		case step.index < 0 && n.Kind == yaml.MappingNode:
			next, i = dottedValue(n, path, steps, i)
		}
		if next == nil {
			return n
		}
		if next.Kind == yaml.AliasNode && next.Alias != nil && len(next.Alias.Content) > 0 {
			// Descend into what the alias stands for; a scalar alias is
			// reported where it is written.
			next = next.Alias
		}
		n = next
	}
	return n
}

// dottedValue returns the value in mapping n of the key at steps[i], or,
// when there is none, of a key that the path splits into several steps:
// one with dots in it (a label such as app.kubernetes.io/name) or with
// brackets (an action named bad[1], which validation refuses); and the
// index of the last step it took. path is the text the steps are of.
func dottedValue(n *yaml.Node, path string, steps []pathStep, i int) (*yaml.Node, int) {
	if v := mappingValue(n, steps[i].key); v != nil {
		return v, i
	}
	for j := i; j < len(steps); j++ {
		if v := mappingValue(n, path[steps[i].start:steps[j].end]); v != nil {
			return v, j
		}
	}
	return nil, i
}

// mappingValue returns the value of key in mapping n, as the schema walk
// takes it: the first of the mapping's own entries, else a merged one.
func mappingValue(n *yaml.Node, key string) *yaml.Node {
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key && !isMerge(n.Content[i]) {
			return n.Content[i+1]
		}
	}
	merged, _ := mergeEntries(n)
	for _, e := range merged {
		if e[0].Value == key {
			return e[1]
		}
	}
	return nil
}

type pathStep struct {
	key        string
	index      int // -1 for a key
	start, end int // the step's text in the path, brackets included
}

// splitPath splits a path into its keys and indexes. A part whose
// brackets hold no index (bad[x]) is one step: its key, the text before
// the brackets, and its text, the whole part (see dottedValue).
func splitPath(path string) []pathStep {
	var steps []pathStep
	for start := 0; start < len(path); {
		end := strings.IndexByte(path[start:], '.')
		if end < 0 {
			end = len(path)
		} else {
			end += start
		}
		if end > start {
			steps = append(steps, partSteps(path, start, end)...)
		}
		start = end + 1
	}
	return steps
}

// partSteps splits path[start:end], a part between dots, into a key and
// the indexes after it.
func partSteps(path string, start, end int) []pathStep {
	part := path[start:end]
	key, rest, _ := strings.Cut(part, "[")
	var steps []pathStep
	if key != "" {
		steps = append(steps, pathStep{key: key, index: -1, start: start, end: start + len(key)})
	}
	at := start + len(key)
	for rest != "" {
		num, after, ok := strings.Cut(rest, "]")
		i, err := strconv.Atoi(num)
		if !ok || err != nil || (after != "" && after[0] != '[') {
			return []pathStep{{key: cmp.Or(key, part), index: -1, start: start, end: end}}
		}
		next := at + len("[") + len(num) + len("]")
		steps = append(steps, pathStep{index: i, start: at, end: next})
		at = next
		rest = strings.TrimPrefix(after, "[")
	}
	return steps
}

// scalarPosition returns the line and column of a byte offset into the value
// of scalar n, given the file's lines. It follows YAML's rules for escapes
// and line folding closely enough for the usual expressions; where the value
// is not what the source says (a ${VAR} expanded), it is approximate.
func scalarPosition(lines []string, n *yaml.Node, offset int) (line, col int) {
	offset = max(0, min(offset, len(n.Value)))
	if n.Line < 1 || n.Line > len(lines) {
		return n.Line, n.Column
	}
	switch n.Style {
	case yaml.LiteralStyle, yaml.FoldedStyle:
		return blockPosition(lines, n, offset)
	default:
		return flowPosition(lines, n, offset)
	}
}

// blockPosition handles | and > scalars: the value starts on the line after
// the indicator, at the indentation of its first non-blank line. Each source
// line gives its content and one separator byte (a newline, or a space when
// folded), except that folding a line into a blank one adds nothing.
func blockPosition(lines []string, n *yaml.Node, offset int) (int, int) {
	start := n.Line // 0-based index of the line after the indicator
	indent := -1
	for i := start; i < len(lines) && indent < 0; i++ {
		if strings.TrimSpace(lines[i]) != "" {
			indent = len(lines[i]) - len(strings.TrimLeft(lines[i], " "))
		}
	}
	if indent < 0 {
		return n.Line, n.Column
	}
	rem := offset
	last := start
	for i := start; i < len(lines); i++ {
		blank := strings.TrimSpace(lines[i]) == ""
		if !blank && len(lines[i])-len(strings.TrimLeft(lines[i], " ")) < indent {
			break // the block has ended
		}
		last = i
		content := lines[i][min(indent, len(lines[i])):]
		if blank {
			content = ""
		}
		if rem <= len(content) {
			return i + 1, indent + utf8.RuneCountInString(content[:rem]) + 1
		}
		rem -= len(content)
		sep := 1
		if n.Style == yaml.FoldedStyle && !blank && i+1 < len(lines) && strings.TrimSpace(lines[i+1]) == "" {
			sep = 0
		}
		if rem < sep {
			return i + 1, indent + utf8.RuneCountInString(content) + 1
		}
		rem -= sep
	}
	return last + 1, indent + 1
}

// flowPosition handles plain and quoted scalars by walking the source from
// the scalar's first character, counting the bytes each character adds to
// the value: escapes in double quotes, doubled quotes in single quotes, and line breaks
// folded into a space (or into newlines when blank lines follow).
func flowPosition(lines []string, n *yaml.Node, offset int) (int, int) {
	quoted := n.Style == yaml.DoubleQuotedStyle || n.Style == yaml.SingleQuotedStyle
	li := n.Line - 1
	line := []rune(lines[li])
	ci := n.Column - 1
	if quoted {
		ci++ // the opening quote
	}
	end := lineEnd(line, n.Style)
	rem := offset
	for {
		if ci >= end || (n.Style == yaml.DoubleQuotedStyle && ci == end-1 && line[ci] == '\\') {
			// A line break: an escaped one adds nothing, a plain one a
			// space, and blank lines one newline each.
			sep := 1
			if ci < end {
				sep = 0
			}
			next := li + 1
			for next < len(lines) && strings.TrimSpace(lines[next]) == "" {
				next++
			}
			if next >= len(lines) {
				return li + 1, min(ci, end) + 1
			}
			if blanks := next - li - 1; blanks > 0 {
				sep = blanks
			}
			// Past an escaped break, the value goes on at the next line.
			if rem < sep {
				return li + 1, min(ci, end) + 1
			}
			rem -= sep
			li, line = next, []rune(lines[next])
			ci = len(line) - len([]rune(strings.TrimLeft(lines[next], " \t")))
			end = lineEnd(line, n.Style)
			continue
		}
		if rem == 0 {
			return li + 1, ci + 1
		}
		width, advance := valueBytes(line[ci:], n.Style)
		if rem < width {
			return li + 1, ci + 1 // inside one escape
		}
		rem -= width
		ci += advance
	}
}

// lineEnd is where a line's part of a flow scalar ends at the latest:
// trailing white space is not part of the value, nor is a comment after a
// plain scalar.
func lineEnd(line []rune, style yaml.Style) int {
	s := string(line)
	if style != yaml.DoubleQuotedStyle && style != yaml.SingleQuotedStyle {
		if i := strings.Index(s, " #"); i >= 0 {
			s = s[:i]
		}
	}
	return utf8.RuneCountInString(strings.TrimRight(s, " \t"))
}

// valueBytes returns how many bytes of the value the source characters at
// the start of src stand for, and how many characters they take.
func valueBytes(src []rune, style yaml.Style) (width, advance int) {
	switch {
	case style == yaml.SingleQuotedStyle && len(src) >= 2 && src[0] == '\'' && src[1] == '\'':
		return 1, 2
	case style == yaml.DoubleQuotedStyle && src[0] == '\\' && len(src) >= 2:
		return escapeBytes(src)
	}
	return utf8.RuneLen(src[0]), 1
}

// escapeBytes measures one double-quoted escape sequence (src[0] == '\\').
func escapeBytes(src []rune) (width, advance int) {
	hex := map[rune]int{'x': 2, 'u': 4, 'U': 8}[src[1]]
	if hex > 0 && len(src) >= 2+hex {
		r, err := strconv.ParseUint(string(src[2:2+hex]), 16, 32)
		if err == nil && utf8.ValidRune(rune(r)) {
			return utf8.RuneLen(rune(r)), 2 + hex
		}
		return 1, 2 + hex
	}
	switch src[1] {
	case 'N', '_': // U+0085, U+00A0
		return 2, 2
	case 'L', 'P': // U+2028, U+2029
		return 3, 2
	}
	return 1, 2
}
