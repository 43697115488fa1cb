package rules

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/ast"
	"github.com/expr-lang/expr/file"
	"github.com/expr-lang/expr/vm"
	"github.com/robfig/cron/v3"

	"github.com/leaderhook/leaderhook/field"
)

// Expression variables (SPEC §5). Their Go types are what the type checker
// sees; the engine keeps values of exactly these types in each cluster's
// environment.
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
	"trigger":            "",
	"now":                time.Time{},
}

// stateNames are the variables that describe the cluster's current state
// itself. A rule that reads any of them treats each new cluster state as a
// new occurrence: "leader changed" fires for A → B and again for B → C, even
// though its condition never turned false in between.
var stateNames = []string{"type", "event", "trigger", "leader_id", "previous_leader_id"}

var cronParser = cron.NewParser(cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow | cron.Descriptor)

var ruleName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]*$`)

// compiledRule is a rule ready to evaluate.
type compiledRule struct {
	Rule
	index      int
	when       *vm.Program
	key        *vm.Program // cooldown_key, may be nil
	schedule   cron.Schedule
	mute       []*window
	clusters   map[string]bool // nil: every cluster
	thresholds []time.Duration // constant durations in `when`, sorted
	windows    []time.Duration // arguments of leader_changes()
	leaderless bool            // reads leaderless_for
	tenure     bool            // reads leader_for
	readsState bool
	usesEvent  bool
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
}

type exprError struct {
	offset int // byte offset into the expression, -1 for all of it
	msg    string
}

// Visit rewrites duration("30s") into a constant, so that evaluating it
// costs nothing, and records what the time-triggered evaluation needs: the
// durations the expression compares against, the windows passed to
// leader_changes, and the names it reads.
func (a *analysis) Visit(node *ast.Node) {
	switch n := (*node).(type) {
	case *ast.IdentifierNode:
		a.names[n.Value] = true
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
		if !ok || id.Value != "leader_changes" || len(n.Arguments) != 1 {
			return
		}
		switch arg := n.Arguments[0].(type) {
		case *ast.ConstantNode:
			if d, ok := arg.Value.(time.Duration); ok && d > 0 {
				a.windows = append(a.windows, d)
				return
			}
		case *ast.BuiltinNode:
			// Visited after its arguments? Not guaranteed: handle the literal here too.
			if s, ok := argString(arg); ok {
				if d, err := time.ParseDuration(s); err == nil && d > 0 {
					a.windows = append(a.windows, d)
					return
				}
			}
		}
		a.errs = append(a.errs, exprError{offset: n.Location().From, msg: `leader_changes needs a positive constant duration, e.g. leader_changes(duration("10m"))`})
	}
}

func argString(b *ast.BuiltinNode) (string, bool) {
	if b.Name != "duration" || len(b.Arguments) != 1 {
		return "", false
	}
	s, ok := b.Arguments[0].(*ast.StringNode)
	if !ok {
		return "", false
	}
	return s.Value, true
}

// compileExpr compiles one expression against the rule variables.
// leaderChanges is bound into the program; wantBool asks for a boolean result.
func compileExpr(src string, wantBool bool, leaderChanges func(time.Duration) int) (*vm.Program, *analysis, []exprError) {
	a := &analysis{names: map[string]bool{}}
	opts := []expr.Option{
		expr.Env(variableTypes),
		expr.Patch(a),
		expr.Function("leader_changes", func(params ...any) (any, error) {
			return leaderChanges(params[0].(time.Duration)), nil
		}, new(func(time.Duration) int)),
	}
	if wantBool {
		opts = append(opts, expr.AsBool())
	}
	prog, err := expr.Compile(src, opts...)
	errs := slices.Clone(a.errs)
	if err != nil {
		errs = append(errs, describeExprError(src, err))
		return nil, a, errs
	}
	if len(errs) > 0 {
		return nil, a, errs
	}
	slices.Sort(a.thresholds)
	a.thresholds = slices.Compact(a.thresholds)
	slices.Sort(a.windows)
	a.windows = slices.Compact(a.windows)
	return prog, a, nil
}

func describeExprError(src string, err error) exprError {
	var fe *file.Error
	if !errors.As(err, &fe) {
		return exprError{offset: -1, msg: err.Error()}
	}
	return exprError{offset: byteOffset(src, fe.From), msg: fe.Message}
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
func compile(rs []Rule, windows map[string]Window, known Known, leaderChanges func(time.Duration) int) (out []*compiledRule, errs, warnings field.List) {
	wins := map[string]*window{}
	for _, name := range sortedKeys(windows) {
		w := windows[name]
		path := "windows." + name
		sched, err := cronParser.Parse(w.Schedule)
		if err != nil {
			errs.Add(path+".schedule", "invalid cron schedule %q: %v", w.Schedule, err)
		}
		if w.Duration <= 0 {
			errs.Add(path+".duration", "must be positive, e.g. 2h")
		}
		wins[name] = &window{name: name, schedule: sched, duration: w.Duration}
	}
	seen := map[string]int{}
	for i, r := range rs {
		path := "rules[" + strconv.Itoa(i) + "]"
		c := &compiledRule{Rule: r, index: i}
		switch {
		case r.Name == "":
			errs.Add(path+".name", "is required")
		case !ruleName.MatchString(r.Name):
			errs.Add(path+".name", "%q: use letters, digits, '.', '_' and '-'", r.Name)
		default:
			if j, dup := seen[r.Name]; dup {
				errs.Add(path+".name", "duplicate rule name %q (also rules[%d])", r.Name, j)
			}
			seen[r.Name] = i
		}
		if r.When == "" {
			errs.Add(path+".when", `is required (write "true" for a rule that only runs on its schedule)`)
		} else {
			prog, a, perrs := compileExpr(r.When, true, leaderChanges)
			for _, e := range perrs {
				errs.AddAt(path+".when", e.offset, "%s", e.msg)
			}
			if prog != nil {
				c.when = prog
				c.thresholds = a.thresholds
				c.windows = a.windows
				c.leaderless = a.names["leaderless_for"]
				c.tenure = a.names["leader_for"]
				c.usesEvent = a.names["event"]
				for _, n := range stateNames {
					c.readsState = c.readsState || a.names[n]
				}
				if (c.leaderless || c.tenure) && len(c.thresholds) == 0 && r.Schedule == "" {
					warnings.Add(path+".when", `leaderless_for/leader_for is compared with no duration("...") constant, so the rule is evaluated only when the cluster state changes; write thresholds as duration("30s") to have them fire on time`)
				}
				if a.names["now"] && r.Schedule == "" {
					warnings.Add(path+".when", "`now` is read only when something else triggers an evaluation; use schedule: or mute windows for time-of-day logic")
				}
			}
		}
		if r.CooldownKey != "" {
			prog, a, perrs := compileExpr(r.CooldownKey, false, leaderChanges)
			for _, e := range perrs {
				errs.AddAt(path+".cooldown_key", e.offset, "%s", e.msg)
			}
			c.key = prog
			if prog != nil && a.names["event"] {
				c.usesEvent = true
			}
			if r.Cooldown == 0 {
				warnings.Add(path+".cooldown_key", "has no effect without cooldown")
			}
		}
		for _, d := range []struct {
			key string
			v   time.Duration
		}{{"for", r.For}, {"repeat", r.Repeat}, {"cooldown", r.Cooldown}} {
			if d.v < 0 {
				errs.Add(path+"."+d.key, "must not be negative")
			}
		}
		if r.Schedule != "" {
			sched, err := cronParser.Parse(r.Schedule)
			if err != nil {
				errs.Add(path+".schedule", "invalid cron schedule %q: %v", r.Schedule, err)
			}
			c.schedule = sched
			for _, k := range []struct {
				key string
				set bool
			}{{"for", r.For != 0}, {"repeat", r.Repeat != 0}, {"on_resolve", len(r.OnResolve) > 0}, {"fire_on_start", r.FireOnStart}} {
				if k.set {
					errs.Add(path+"."+k.key, "does not apply to a scheduled rule (it fires at each schedule time when its condition holds)")
				}
			}
		}
		if len(r.Actions) == 0 && len(r.OnResolve) == 0 {
			errs.Add(path+".actions", "lists no action: name at least one of the actions defined under actions:")
		}
		if known.Actions != nil {
			checkNames(&errs, path+".actions", r.Actions, known.Actions, "action")
			checkNames(&errs, path+".on_resolve", r.OnResolve, known.Actions, "action")
		}
		if known.Clusters != nil {
			checkNames(&errs, path+".clusters", r.Clusters, known.Clusters, "cluster")
		}
		if len(r.Clusters) > 0 {
			c.clusters = map[string]bool{}
			for _, name := range r.Clusters {
				c.clusters[name] = true
			}
		}
		for j, name := range r.Mute {
			w, ok := wins[name]
			if !ok {
				errs.Add(fmt.Sprintf("%s.mute[%d]", path, j), "unknown window %q%s", name, available(windows))
				continue
			}
			c.mute = append(c.mute, w)
		}
		out = append(out, c)
	}
	return out, errs, warnings
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
	return fmt.Sprintf(" (defined: %v)", sortedKeys(m))
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
