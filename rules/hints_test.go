package rules

import (
	"testing"

	"github.com/expr-lang/expr"
)

// Durations written as numbers, strings or bare literals are reported at
// the literal, with the duration("...") to write instead. Each expression
// is one expr itself rejects: a hint never turns a valid one down.
func TestDurationHints(t *testing.T) {
	cases := []struct {
		when   string
		offset int
		msg    string
	}{
		{`leaderless_for > 30`, 17, `leaderless_for is a duration: write duration("30s") (units ms, s, m, h) instead of the number 30`},
		{`leader_for <= 1.5`, 14, `leader_for is a duration: write duration("1.5s") (units ms, s, m, h) instead of the number 1.5`},
		{`30 < leaderless_for`, 0, `leaderless_for is a duration: write duration("30s") (units ms, s, m, h) instead of the number 30`},
		{`leaderless_for == 0`, 18, `leaderless_for is a duration: write duration("0s") (units ms, s, m, h) instead of the number 0`},
		{`leader_for + 3 > duration("1m")`, 13, `leader_for is a duration: write duration("3s") (units ms, s, m, h) instead of the number 3`},
		{`leaderless_for > "5m"`, 17, `leaderless_for is a duration: write duration("5m") instead of the string "5m"`},
		{`leaderless_for > "soon"`, 17, `leaderless_for is a duration: write duration("30s") instead of the string "soon"`},
		{`type == "é" && leaderless_for > 30`, 33, `leaderless_for is a duration: write duration("30s") (units ms, s, m, h) instead of the number 30`},
		{`leaderless_for >= 10s`, 18, `10s is not a number: write durations as duration("10s")`},
		{`leaderless_for > 1h30m`, 17, `1h30m is not a number: write durations as duration("1h30m")`},
		{`leaderless_for > 500ms && leaderless`, 17, `500ms is not a number: write durations as duration("500ms")`},
		{`10s < leaderless_for`, 0, `10s is not a number: write durations as duration("10s")`},
		{`leaderless_for > 2d`, 17, `2d is not a number: write durations as duration("48h") (units ns, us, ms, s, m, h)`},
		{`leaderless_for > 10sec`, 17, `10sec is not a number: write durations as duration("30s") (units ns, us, ms, s, m, h)`},
		// Not durations: the messages stay expr's.
		{`leader_id == 1`, 10, `invalid operation: == (mismatched types string and int)`},
		{`leaderless > 1.2.3`, 16, `unexpected token Number(".3")`},
		{`nope || leaderless_for > 30`, 0, `unknown name nope`},
	}
	for _, c := range cases {
		if _, err := expr.Compile(c.when, expr.Env(variableTypes), expr.AsBool()); err == nil {
			t.Errorf("%s: expr accepts it", c.when)
		}
		_, _, errs := compileExpr(c.when, true)
		if len(errs) != 1 || errs[0].offset != c.offset || errs[0].msg != c.msg {
			t.Errorf("%s:\n got %+v\nwant [{offset:%d msg:%s}]", c.when, errs, c.offset, c.msg)
		}
	}
}

// Valid expressions compile, even where a hint's pattern appears.
func TestDurationHintsLeaveValidExpressions(t *testing.T) {
	for _, when := range []string{
		`leaderless_for > duration("30s")`,
		`leaderless_for.Seconds() > 30`,
		`leader_changes(duration("10m")) > 3`,
		`leader_for * 2 > duration("1m")`,
	} {
		if _, _, errs := compileExpr(when, true); len(errs) > 0 {
			t.Errorf("%s: %+v", when, errs)
		}
	}
}
