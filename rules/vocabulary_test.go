package rules

import (
	"strings"
	"testing"
)

// Values a variable never takes are reported at the string, with the valid
// values; conditions whose conjuncts contradict each other at the conjunct
// that makes them contradict.
func TestVocabularyErrors(t *testing.T) {
	const types = `valid values: "state.has_leader", "state.is_leaderless"`
	const never = "the condition is never true: "
	const why = ` (leaderless is true exactly when type is "state.is_leaderless")`
	cases := []struct {
		when     string
		schedule string
		offsets  []int
		msgs     []string
	}{
		{when: `type == "state.isleaderless"`, offsets: []int{8}, msgs: []string{`type is never "state.isleaderless": ` + types}},
		{when: `"state.leaderless" != type`, offsets: []int{0}, msgs: []string{`type is never "state.leaderless": ` + types}},
		{when: `type in ["state.has_leader", "leaderless"] && leaderless`, offsets: []int{29}, msgs: []string{`type is never "leaderless": ` + types}},
		{when: `leaderless_for > duration("1s") || type == "é" || type == "x"`, offsets: []int{43, 59}, msgs: []string{
			`type is never "é": ` + types, `type is never "x": ` + types}},
		{when: `trigger == "schedule"`, offsets: []int{11}, msgs: []string{
			`trigger is never "schedule": valid values: "event", "time", "health", "expect" ("schedule" only in a rule with a schedule)`}},
		{when: `trigger == "timer"`, offsets: []int{11}, msgs: []string{
			`trigger is never "timer": valid values: "event", "time", "health", "expect" ("schedule" only in a rule with a schedule)`}},
		{when: `trigger != "event"`, schedule: "* * * * *", offsets: []int{11}, msgs: []string{
			`trigger is never "event": valid values: "schedule" (the rule has a schedule: it is evaluated only at its schedule times)`}},
		{when: `type == "state.has_leader" && type == "state.is_leaderless"`, offsets: []int{30}, msgs: []string{
			never + `type == "state.is_leaderless" contradicts type == "state.has_leader"`}},
		{when: `leaderless && type == "state.has_leader"`, offsets: []int{14}, msgs: []string{
			never + `type == "state.has_leader" contradicts leaderless` + why}},
		{when: `type == "state.is_leaderless" and not leaderless`, offsets: []int{34}, msgs: []string{
			never + `not leaderless contradicts type == "state.is_leaderless"` + why}},
		{when: `leaderless == false && (leaderless_for > duration("1s") && type in ["state.is_leaderless"])`, offsets: []int{59}, msgs: []string{
			never + `type in ["state.is_leaderless"] contradicts leaderless == false` + why}},
		{when: `type != "state.has_leader" && trigger == "event" && !(type != "state.has_leader")`, offsets: []int{52}, msgs: []string{
			never + `!(type != "state.has_leader") contradicts type != "state.has_leader"`}},
		{when: `trigger == "event" && trigger == "time"`, offsets: []int{22}, msgs: []string{
			never + `trigger == "time" contradicts trigger == "event"`}},
	}
	for _, c := range cases {
		errs := vocabularyErrors(c.when, vocabularyOf(&Rule{Schedule: c.schedule}))
		if len(errs) != len(c.msgs) {
			t.Errorf("%s: got %+v, want %q", c.when, errs, c.msgs)
			continue
		}
		for i, e := range errs {
			if e.offset != c.offsets[i] || e.msg != c.msgs[i] {
				t.Errorf("%s:\n got {%d %s}\nwant {%d %s}", c.when, e.offset, e.msg, c.offsets[i], c.msgs[i])
			}
		}
	}
}

// Conditions that can hold are left alone, however they are written.
func TestVocabularyAcceptsWhatCanHold(t *testing.T) {
	for _, c := range []struct{ when, schedule string }{
		{when: `type == "state.has_leader" || type == "state.is_leaderless"`},
		{when: `leaderless && type == "state.is_leaderless" && trigger in ["event", "time", "health"]`},
		{when: `!leaderless && type != "state.is_leaderless"`},
		{when: `(leaderless || type == "state.has_leader") && !leaderless`},
		{when: `type in ["state.has_leader", leader_id] && leaderless`},
		{when: `trigger == "schedule" && leaderless`, schedule: "0 * * * *"},
		{when: `let type = "x"; type == "state.isleaderless"`},
		{when: `event.eventType == "peer.connected" && leaderless`},
		{when: `leader_id == "state.has_leader" && leaderless`},
		{when: `type == "state.has_leader" ? leaderless == false : leaderless`},
	} {
		if errs := vocabularyErrors(c.when, vocabularyOf(&Rule{Schedule: c.schedule})); len(errs) > 0 {
			t.Errorf("%s: %+v", c.when, errs)
		}
	}
}

// Check reports vocabulary errors under the rule's when, and none for a
// condition that already failed to compile.
func TestCheckReportsVocabulary(t *testing.T) {
	rs := []Rule{
		{Name: "a", When: `type == "state.isleaderless"`, Actions: []string{"n"}},
		{Name: "b", When: `type == "nope" && nope`, Actions: []string{"n"}},
	}
	errs, _ := Check(rs, nil, Known{})
	if len(errs) != 2 || errs[0].Path != "rules[1].when" || errs[0].Msg != "unknown name nope" ||
		errs[1].Path != "rules[0].when" || errs[1].Offset != 8 || !strings.HasPrefix(errs[1].Msg, `type is never "state.isleaderless"`) {
		t.Errorf("got %v", errs)
	}
}

// trigger is "expect" when a window of expected changes opens or ends
// early (Engine.Expect): a rule without a schedule may compare with it; a
// scheduled rule, evaluated only at its schedule times, may not.
func TestCheckAcceptsTriggerExpect(t *testing.T) {
	for _, c := range []struct {
		when, schedule string
		refused        bool
	}{
		{when: `trigger == "expect" && !expected`},
		{when: `leaderless && trigger != "expect"`},
		{when: `trigger in ["event", "expect"] && expected`},
		{when: `trigger == "expect"`, schedule: "0 * * * *", refused: true},
	} {
		errs, _ := Check([]Rule{{Name: "x", When: c.when, Schedule: c.schedule, Actions: []string{"n"}}}, nil, Known{})
		if refused := len(errs) > 0; refused != c.refused {
			t.Errorf("%s (schedule %q): got %v, want refused %v", c.when, c.schedule, errs, c.refused)
		}
	}
}
