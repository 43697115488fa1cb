package rules

import (
	"errors"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/ast"
	"github.com/expr-lang/expr/file"
	"github.com/expr-lang/expr/parser"
	"github.com/expr-lang/expr/vm"
	"github.com/robfig/cron/v3"

	"github.com/leaderhook/leaderhook/field"
)

// Expression variables, as README.md (Rules) documents them. Their Go types
// are what the type checker sees; each cluster's environment starts from
// these zero values and keeps values of exactly these types.
var variableTypes = map[string]any{
	"type":               "",
	"event":              map[string]any{},
	"cluster":            "",
	"labels":             map[string]string{},
	"leader_id":          "",
	"previous_leader_id": "",
	"leaderless":         false,
	"leaderless_for":     time.Duration(0),
	"leader_for":         time.Duration(0),
	"members":            []string{},
	"members_up":         0,
	"members_total":      0,
	"quorum_margin":      0,
	"unreachable":        []string{},
	"watcher_isolated":   false,
	"leaders":            []string{},
	"split_brain":        false,
	"term":               0,
	"change_kind":        "",
	"expected":           false,
	"expected_reason":    "",
	"trigger":            "",
	"now":                time.Time{},
}

// Variables lists the names of the expression variables, sorted, for
// documentation and its tests (leader_changes(d) is a function besides).
func Variables() []string { return slices.Sorted(maps.Keys(variableTypes)) }

// stateNames are the variables that describe the cluster's current state
// itself. A rule that reads any of them treats each new cluster state as a
// new occurrence: "leader changed" fires for A → B and again for B → C, even
// though its condition never turned false in between.
var stateNames = []string{"type", "event", "trigger", "leader_id", "previous_leader_id", "change_kind"}

// healthNames are the variables whose value a report of the members'
// health (Engine.Health) can change without a new cluster state, besides
// `trigger` and `now`, which change on every evaluation.
var healthNames = []string{"members_up", "members_total", "quorum_margin", "unreachable", "watcher_isolated",
	"leaders", "split_brain", "term", "trigger", "now"}

var ruleName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]*$`)

// compiledRule is a rule ready to evaluate.
type compiledRule struct {
	Rule
	when       *vm.Program
	key        *vm.Program // cooldown_key, may be nil
	verify     *verifier   // verify.when, nil without verify
	schedule   cron.Schedule
	mute       []*window
	clusters   map[string]bool // nil: every cluster
	thresholds []time.Duration // where `when`'s comparisons of durations may flip, sorted
	windows    []time.Duration // arguments of leader_changes()
	leaderless bool            // reads leaderless_for
	tenure     bool            // reads leader_for
	expects    bool            // reads expected or expected_reason
	readsState bool
	// readsHealth: a health report can change the value of `when`; the
	// others are not evaluated on one, as time alone cannot change them
	// between their wake-ups.
	readsHealth bool
	gate        gate
	definition  string // hash of the configured rule, for snapshots
	decision    string // hash of what decides its outcomes, for snapshots
}

type window struct {
	name     string
	schedule cron.Schedule
	duration time.Duration
}

// analysis is what compiling one expression found out about it.
type analysis struct {
	names      map[string]bool
	thresholds []time.Duration
	windows    []time.Duration
	errs       []exprError
	hints      []hint // for the checker's errors, should there be any
}

type exprError struct {
	// offset is into the expression, -1 for all of it: in bytes, but in
	// runes, as expr counts, while in an analysis.
	offset int
	msg    string
}

// Visit rewrites duration("30s") into a constant and leader_changes(d) into
// a variable that the engine keeps up to date, since it already tracks the
// leader changes per cluster. It records what time-triggered evaluation
// needs: the durations the expression compares against, the windows passed
// to leader_changes, and the names it reads.
func (a *analysis) Visit(node *ast.Node) {
	switch n := (*node).(type) {
	case *ast.IdentifierNode:
		a.names[n.Value] = true
	case *ast.BinaryNode:
		if h, ok := durationOperand(n); ok {
			a.hints = append(a.hints, h)
		}
	case *ast.BuiltinNode:
		if n.Name != "duration" || len(n.Arguments) != 1 {
			return
		}
		s, ok := n.Arguments[0].(*ast.StringNode)
		if !ok {
			return
		}
		d, err := time.ParseDuration(s.Value)
		if err != nil {
			a.errs = append(a.errs, exprError{offset: n.Location().From, msg: fmt.Sprintf("invalid duration %q", s.Value)})
			return
		}
		a.thresholds = append(a.thresholds, d)
		ast.Patch(node, &ast.ConstantNode{Value: d})
	case *ast.CallNode:
		id, ok := n.Callee.(*ast.IdentifierNode)
		if !ok || id.Value != "leader_changes" {
			return
		}
		if len(n.Arguments) == 1 {
			if c, ok := n.Arguments[0].(*ast.ConstantNode); ok {
				if d, ok := c.Value.(time.Duration); ok && d > 0 {
					a.windows = append(a.windows, d)
					ast.Patch(node, &ast.IdentifierNode{Value: changesVar(d)})
					return
				}
			}
		}
		a.errs = append(a.errs, exprError{offset: n.Location().From, msg: `leader_changes needs a positive constant duration, e.g. leader_changes(duration("10m"))`})
	}
}

// changesVar names the variable that leader_changes(d) becomes. A colon
// cannot appear in an identifier a user writes, so it cannot collide.
func changesVar(d time.Duration) string { return "leader_changes:" + d.String() }

// compileExpr compiles one expression against the rule variables. It
// parses twice: first to learn which leader_changes windows the expression
// uses, so that the variables they become can be declared to the type
// checker; then for real.
func compileExpr(src string, wantBool bool) (*vm.Program, *analysis, []exprError) {
	types := variableTypes
	if tree, err := parser.Parse(src); err == nil {
		pre := &analysis{names: map[string]bool{}}
		ast.Walk(&tree.Node, pre)
		if len(pre.windows) > 0 {
			types = maps.Clone(variableTypes)
			for _, d := range pre.windows {
				types[changesVar(d)] = 0
			}
		}
	}
	a := &analysis{names: map[string]bool{}}
	opts := []expr.Option{expr.Env(types), expr.Patch(a)}
	if wantBool {
		opts = append(opts, expr.AsBool())
	}
	prog, err := expr.Compile(src, opts...)
	if len(a.errs) > 0 {
		// Ours are more precise than what the checker says of the same spot.
		for i := range a.errs {
			a.errs[i].offset = byteOffset(src, a.errs[i].offset)
		}
		return nil, a, a.errs
	}
	if err != nil {
		return nil, a, []exprError{describeExprError(src, err, a.hints)}
	}
	// The durations written in it, and where its comparisons flip when
	// written with arithmetic: a wake-up at one where nothing flips only
	// evaluates the rule once more.
	a.thresholds = append(a.thresholds, thresholdsOf(prog.Node())...)
	slices.Sort(a.thresholds)
	a.thresholds = slices.Compact(a.thresholds)
	slices.Sort(a.windows)
	a.windows = slices.Compact(a.windows)
	return prog, a, nil
}

func describeExprError(src string, err error, hints []hint) exprError {
	var fe *file.Error
	if !errors.As(err, &fe) {
		return exprError{offset: -1, msg: err.Error()}
	}
	for _, h := range hints {
		if h.at == fe.From {
			return exprError{offset: byteOffset(src, h.offset), msg: h.msg}
		}
	}
	offset := byteOffset(src, fe.From)
	if strings.HasPrefix(fe.Message, "bad number syntax") {
		if e, ok := bareDuration(src, offset); ok {
			return e
		}
	}
	return exprError{offset: offset, msg: fe.Message}
}

// byteOffset turns expr's rune offset into a byte offset.
func byteOffset(s string, runes int) int {
	off := 0
	for i := 0; i < runes && off < len(s); i++ {
		_, size := utf8.DecodeRuneInString(s[off:])
		off += size
	}
	return off
}

// compile validates and compiles every rule and window. Paths in errs are
// rooted at the config file.
func compile(rs []Rule, windows map[string]Window, known Known) (out []*compiledRule, errs, warnings field.List) {
	wins := compileWindows(windows, &errs)
	seen := map[string]int{}
	for i, r := range rs {
		path := "rules[" + strconv.Itoa(i) + "]"
		c := &compiledRule{Rule: r, definition: definition(&r), decision: decision(&r)}
		checkName(&errs, path, i, r.Name, seen)
		checkLabels(&errs, path, r.Labels)
		c.compileWhen(path, &errs, &warnings)
		c.compileKey(path, &errs, &warnings)
		c.compileTiming(path, &errs)
		c.resolveNames(path, &errs, known, wins, windows)
		c.compileVerify(path, &errs, &warnings, known)
		out = append(out, c)
	}
	return out, errs, warnings
}

func compileWindows(windows map[string]Window, errs *field.List) map[string]*window {
	wins := map[string]*window{}
	for _, name := range slices.Sorted(maps.Keys(windows)) {
		w := windows[name]
		path := "windows." + name
		sched, err := parseCron(w.Schedule)
		switch {
		case w.Schedule == "":
			errs.Add(path+".schedule", `is required: when the window opens, in cron, e.g. "0 2 * * SUN"`)
		case err != nil:
			errs.AddAt(path+".schedule", err.offset, "invalid cron schedule %q: %s", w.Schedule, err.msg)
		case !opensAtTimes(sched):
			// The window covering an instant is found from the opening
			// before it (mutedUntil), which an interval does not have.
			errs.Add(path+".schedule", `%q has no time of day: a window opens at times a cron schedule names, e.g. "0 2 * * SUN" or @daily`, w.Schedule)
		}
		if w.Duration <= 0 {
			errs.Add(path+".duration", "must be positive, e.g. 2h")
		}
		wins[name] = &window{name: name, schedule: sched, duration: w.Duration}
	}
	return wins
}

// checkName checks rule i's name, remembering it in seen.
func checkName(errs *field.List, path string, i int, name string, seen map[string]int) {
	switch {
	case name == "":
		errs.Add(path+".name", "is required")
	case !ruleName.MatchString(name):
		errs.Add(path+".name", "%q: use letters, digits, '.', '_' and '-'", name)
	default:
		if j, dup := seen[name]; dup {
			errs.Add(path+".name", "duplicate rule name %q (also rules[%d])", name, j)
		}
		seen[name] = i
	}
}

func (c *compiledRule) compileWhen(path string, errs, warnings *field.List) {
	if c.When == "" {
		errs.Add(path+".when", `is required (write "true" for a rule that only runs on its schedule)`)
		return
	}
	prog, a, perrs := compileExpr(c.When, true)
	for _, e := range perrs {
		errs.AddAt(path+".when", e.offset, "%s", e.msg)
	}
	if prog == nil {
		return
	}
	c.when = prog
	warnIfFailing(warnings, path+".when", prog, a.windows)
	c.gate = gateOf(prog.Node())
	c.thresholds = a.thresholds
	c.windows = a.windows
	c.leaderless = a.names["leaderless_for"]
	c.tenure = a.names["leader_for"]
	c.expects = a.names["expected"] || a.names["expected_reason"]
	for _, n := range stateNames {
		c.readsState = c.readsState || a.names[n]
	}
	// A duration compared with no constant has no wake-up: such a rule
	// keeps being evaluated on whatever comes.
	c.readsHealth = (c.leaderless || c.tenure) && len(c.thresholds) == 0
	for _, n := range healthNames {
		c.readsHealth = c.readsHealth || a.names[n]
	}
	if (c.leaderless || c.tenure) && len(c.thresholds) == 0 && c.Schedule == "" {
		warnings.Add(path+".when", `leaderless_for/leader_for is compared with no duration("...") constant, so the rule is evaluated only when the cluster state changes; write thresholds as duration("30s") to have them fire on time`)
	}
	if a.names["now"] && c.Schedule == "" {
		warnings.Add(path+".when", "`now` is read only when something else triggers an evaluation; use schedule: or mute windows for time-of-day logic")
	}
}

func (c *compiledRule) compileKey(path string, errs, warnings *field.List) {
	if c.CooldownKey == "" {
		return
	}
	prog, a, perrs := compileExpr(c.CooldownKey, false)
	for _, e := range perrs {
		errs.AddAt(path+".cooldown_key", e.offset, "%s", e.msg)
	}
	c.key = prog
	if prog != nil {
		c.windows = append(c.windows, a.windows...)
	}
	if c.Cooldown == 0 {
		warnings.Add(path+".cooldown_key", "has no effect without cooldown")
	}
}

// compileTiming checks the durations and the schedule.
func (c *compiledRule) compileTiming(path string, errs *field.List) {
	for _, d := range []struct {
		key string
		v   time.Duration
	}{{"for", c.For}, {"repeat", c.Repeat}, {"cooldown", c.Cooldown}} {
		if d.v < 0 {
			errs.Add(path+"."+d.key, "must not be negative")
		}
	}
	if c.Schedule == "" {
		return
	}
	sched, err := parseCron(c.Schedule)
	if err != nil {
		errs.AddAt(path+".schedule", err.offset, "invalid cron schedule %q: %s", c.Schedule, err.msg)
	}
	c.schedule = sched
	for _, k := range []struct {
		key string
		set bool
	}{{"for", c.For != 0}, {"repeat", c.Repeat != 0}, {"on_resolve", len(c.OnResolve) > 0}, {"fire_on_start", c.FireOnStart}, {"verify", c.Verify != nil}} {
		if k.set {
			errs.Add(path+"."+k.key, "does not apply to a scheduled rule (it fires at each schedule time when its condition holds)")
		}
	}
}

// resolveNames checks the actions, clusters and mute windows the rule names.
func (c *compiledRule) resolveNames(path string, errs *field.List, known Known, wins map[string]*window, windows map[string]Window) {
	if len(c.Actions) == 0 && len(c.OnResolve) == 0 {
		errs.Add(path+".actions", "lists no action: name at least one of the actions defined under actions:")
	}
	if known.Actions != nil {
		checkNames(errs, path+".actions", c.Actions, known.Actions, "action")
		checkNames(errs, path+".on_resolve", c.OnResolve, known.Actions, "action")
	}
	if known.Clusters != nil {
		checkNames(errs, path+".clusters", c.Clusters, known.Clusters, "cluster")
	}
	if len(c.Clusters) > 0 {
		c.clusters = map[string]bool{}
		for _, name := range c.Clusters {
			c.clusters[name] = true
		}
	}
	for j, name := range c.Mute {
		w, ok := wins[name]
		if !ok {
			errs.Add(fmt.Sprintf("%s.mute[%d]", path, j), "unknown window %q%s", name, available(windows))
			continue
		}
		c.mute = append(c.mute, w)
	}
}

func checkNames(errs *field.List, path string, names []string, known map[string]bool, kind string) {
	for j, name := range names {
		if !known[name] {
			errs.Add(fmt.Sprintf("%s[%d]", path, j), "unknown %s %q%s", kind, name, available(known))
		}
	}
}

func available[V any](m map[string]V) string {
	if len(m) == 0 {
		return ""
	}
	return fmt.Sprintf(" (defined: %v)", slices.Sorted(maps.Keys(m)))
}

// gate is what a condition's top-level conjuncts demand of the state, so the
// engine can skip running a rule that cannot be true: `type == "..." && ...`
// is false in any other state, whatever the rest says.
type gate struct {
	typ        string // required `type`, "" for any
	leaderless int8   // 0 any, 1 must be leaderless, -1 must have a leader
}

func gateOf(n ast.Node) gate {
	var g gate
	var visit func(ast.Node)
	visit = func(n ast.Node) {
		switch n := n.(type) {
		case *ast.BinaryNode:
			switch n.Operator {
			case "&&", "and":
				visit(n.Left)
				visit(n.Right)
			case "==":
				if s, ok := stringCompare(n.Left, n.Right, "type"); ok {
					g.typ = s
				} else if s, ok := stringCompare(n.Right, n.Left, "type"); ok {
					g.typ = s
				}
			}
		case *ast.IdentifierNode:
			if n.Value == "leaderless" {
				g.leaderless = 1
			}
		case *ast.UnaryNode:
			if id, ok := n.Node.(*ast.IdentifierNode); ok && id.Value == "leaderless" && (n.Operator == "!" || n.Operator == "not") {
				g.leaderless = -1
			}
		}
	}
	visit(n)
	return g
}

func stringCompare(ident, lit ast.Node, name string) (string, bool) {
	id, ok := ident.(*ast.IdentifierNode)
	s, isString := lit.(*ast.StringNode)
	if !ok || !isString || id.Value != name {
		return "", false
	}
	return s.Value, true
}

// admits reports whether the state can satisfy the gate.
func (g gate) admits(typ string, leaderless bool) bool {
	if g.typ != "" && g.typ != typ {
		return false
	}
	switch g.leaderless {
	case 1:
		return leaderless
	case -1:
		return !leaderless
	}
	return true
}
