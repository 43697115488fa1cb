package detector

import (
	"bytes"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"
)

// A sender names its sources freely: a learned membership stops growing
// at MaxLearnedMembers, and says so once.
func TestViewLearnedMembershipIsBounded(t *testing.T) {
	cases := []struct {
		name     string
		members  []string // configured
		sources  int
		want     int
		warnings int
	}{
		{name: "a few sources are all members", sources: 5, want: 5},
		{name: "up to the bound, every source is a member", sources: MaxLearnedMembers, want: MaxLearnedMembers},
		{name: "past the bound, new sources are not members", sources: MaxLearnedMembers + 50, want: MaxLearnedMembers, warnings: 1},
		{name: "a configured membership warns of nothing", members: []string{"s0", "s1", "s2"}, sources: MaxLearnedMembers + 50, want: 3},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var logs bytes.Buffer
			v := NewView("c", tc.members, 2*time.Second)
			v.SetLogger(slog.New(slog.NewTextHandler(&logs, nil)))
			for i := range tc.sources {
				v.Observe(report{i, fmt.Sprintf("s%d", i), has, "s0", 0}.event(), nil)
			}
			if got := len(v.Members()); got != tc.want {
				t.Errorf("%d members, want %d", got, tc.want)
			}
			if got := len(v.State().Reports); got != tc.want {
				t.Errorf("%d reports kept, want %d", got, tc.want)
			}
			if got := strings.Count(logs.String(), "level=WARN"); got != tc.warnings {
				t.Errorf("%d warnings, want %d:\n%s", got, tc.warnings, logs.String())
			}
			if first := fmt.Sprintf("source=s%d", MaxLearnedMembers); tc.warnings > 0 && !strings.Contains(logs.String(), first) {
				t.Errorf("the warning does not name the first source ignored (%s):\n%s", first, logs.String())
			}
		})
	}
}
