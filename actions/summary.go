package actions

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Summary says in one line what a notification is about, for people: the
// default texts of slack, teams, email and pagerduty, and the payload's
// `summary`. Templates call it as {{ .Summary }}. It leaves out the rule
// and the cluster, which every message names anyway:
//
//	no leader for 30s (was e1)
//	leader e2 (was e1), after 4s without a leader
//	e1 back after 3s
//	leader e1 since 19:03:43 UTC, held by cooldown until 19:09:03 UTC
//	e1 back after 1m25s; the firing lasted 1m10s (a resolve)
//	page failed for good after 5 attempts (POST https://…: answered 500): no leader for 30s (was e1)
//	not verified after the actions succeeded: no leader for 4m10s (was e1)
//
// Ids are as the events gave them: kinds that write markup escape the
// whole line.
func (n *Notification) Summary() string {
	var b strings.Builder
	if f := n.Failure; f.Action != "" {
		fmt.Fprintf(&b, "%s failed for good after %s", f.Action, plural(f.Attempts, "attempt"))
		if f.Error != "" {
			fmt.Fprintf(&b, " (%s)", f.Error)
		}
		b.WriteString(": ")
	}
	if n.Status == StatusVerifyFailed {
		b.WriteString("not verified after the actions succeeded: ")
	}
	b.WriteString(n.stateText())
	if n.HeldBy != "" && !n.StateSince.IsZero() {
		since, until := clocks(n.StateSince, n.FiredAt)
		fmt.Fprintf(&b, " since %s, held by %s until %s", since, heldBy(n.HeldBy), until)
	}
	if n.Status == StatusResolved && n.Lasted > 0 {
		fmt.Fprintf(&b, "; the firing lasted %s", HumanDuration(n.Lasted))
	}
	return b.String()
}

// stateText is the cluster's state: its leader, or how long it has had
// none, and what came before.
func (n *Notification) stateText() string {
	switch {
	case n.Leaderless:
		return "no leader for " + HumanDuration(n.LeaderlessFor) + was(n.PreviousLeaderID)
	case n.LeaderID == "":
		return "no leader" + was(n.PreviousLeaderID)
	case n.LeaderID == n.PreviousLeaderID && n.LastOutage > 0:
		return n.LeaderID + " back after " + HumanDuration(n.LastOutage)
	case n.LeaderID == n.PreviousLeaderID:
		return "leader " + n.LeaderID
	case n.LastOutage > 0:
		return "leader " + n.LeaderID + was(n.PreviousLeaderID) + ", after " + HumanDuration(n.LastOutage) + " without a leader"
	}
	return "leader " + n.LeaderID + was(n.PreviousLeaderID)
}

func was(previous string) string {
	if previous == "" {
		return ""
	}
	return " (was " + previous + ")"
}

// heldBy names what held a firing back: "cooldown", "a mute window".
func heldBy(reason string) string {
	if reason == "muted" {
		return "a mute window"
	}
	return reason
}

// clocks writes two instants as times of day in UTC, with their dates
// when they fall on different days (a cooldown of a day).
func clocks(a, b time.Time) (string, string) {
	layout := "15:04:05 UTC"
	if a.UTC().YearDay() != b.UTC().YearDay() || a.UTC().Year() != b.UTC().Year() {
		layout = "2006-01-02 15:04:05 UTC"
	}
	return a.UTC().Format(layout), b.UTC().Format(layout)
}

func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return strconv.Itoa(n) + " " + noun + "s"
}

// HumanDuration writes a duration for people: 450ms, 30s, 2m5s, 1h30m,
// 2d3h.
func HumanDuration(d time.Duration) string {
	switch {
	case d <= 0:
		return "0s"
	case d < time.Second:
		return d.Round(time.Millisecond).String()
	}
	d = d.Round(time.Second)
	var b strings.Builder
	for _, u := range []struct {
		unit time.Duration
		name string
	}{{24 * time.Hour, "d"}, {time.Hour, "h"}, {time.Minute, "m"}, {time.Second, "s"}} {
		if d >= u.unit {
			b.WriteString(strconv.FormatInt(int64(d/u.unit), 10) + u.name)
			d %= u.unit
		}
	}
	return b.String()
}
