package rules

import (
	"strings"
	"testing"
)

// A condition that type-checks but fails whenever it runs (expr lets a
// duration be multiplied by a float, whose product then compares with
// no duration) is counted false on every evaluation: check warns of it.
// Conditions that run are not warned of.
func TestCheckWarnsOfAConditionThatFailsWhenEvaluated(t *testing.T) {
	for _, c := range []struct {
		when, verify string
		warned       bool
	}{
		{when: `leaderless && leaderless_for * 0.7 >= duration("1s")`, warned: true},
		{when: `leader_for * 1.5 > duration("1m")`, warned: true},
		{when: `leaderless`, verify: `leader_for * 0.5 >= duration("10s")`, warned: true},
		{when: `leaderless_for >= duration("1m") * 2`},
		{when: `leaderless && members_up * 2 <= members_total`},
		{when: `event["reason"] == "x" || len(unreachable) > 1`},
		{when: `type == "state.has_leader" && leader_id != previous_leader_id`, verify: `!leaderless && leader_for >= duration("10s")`},
	} {
		r := Rule{Name: "x", When: c.when, Actions: []string{"n"}}
		if c.verify != "" {
			r.Verify = &Verify{When: c.verify, Within: 60e9}
		}
		errs, warnings := Check([]Rule{r}, nil, Known{})
		if len(errs) > 0 {
			t.Fatalf("%s: refused: %v", c.when, errs)
		}
		said := ""
		if len(warnings) > 0 {
			said = warnings.Error()
		}
		if warned := strings.Contains(said, "fails when evaluated"); warned != c.warned {
			t.Errorf("when %s, verify %q: warnings %q, want warned %v", c.when, c.verify, said, c.warned)
		}
	}
}

// Rules whose evaluation depends on data a sample state may lack (event
// keys, labels, indexes) are not warned of.
func TestCheckLeavesConditionsThatDependOnData(t *testing.T) {
	for _, when := range []string{
		`lower(event.eventType) contains "leaderless"`,
		`leaderless && now - date(event.timestamp) < duration("1m")`,
		`leaderless && lower(event.namespace) == "cluster"`,
		`leaderless && int(labels.replicas) >= 3`,
		`leaderless && len(event.previousLeaderId) > 0`,
		`leaderless && date(event.since) < now`,
		`split_brain && leaders[0] != leader_id`,
		`quorum_margin < 1 && 10 % quorum_margin == 0`,
		`leaderless && event["custom"] > 3`,
	} {
		_, warnings := Check([]Rule{{Name: "x", When: when, Actions: []string{"n"}}}, nil, Known{})
		if len(warnings) > 0 && strings.Contains(warnings.Error(), "fails when evaluated") {
			t.Errorf("%s: warned: %v", when, warnings.Error())
		}
	}
}
