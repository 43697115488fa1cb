package event

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

func TestPrintable(t *testing.T) {
	cases := []struct{ in, want string }{
		{"ctrl1", "ctrl1"},
		{"", ""},
		{"contrôleur-é 東京 ✓", "contrôleur-é 東京 ✓"},
		{`quote " and back\slash`, `quote " and back\slash`},
		{"a\nb", `a\nb`},
		{"a\r\n2026-01-01 forged", `a\r\n2026-01-01 forged`},
		{"\x1b[31mred\x1b[0m", `\x1b[31mred\x1b[0m`},
		{"tab\there", `tab\there`},
		{"\x00\x7f", `\x00\x7f`},
		{"c1\u009b31m", `c1\u009b31m`},       // the one-byte CSI
		{"line\u2028sep", `line\u2028sep`},   // a line separator to some viewers
		{"bidi\u202eevil", `bidi\u202eevil`}, // reverses what follows
		{"bad \xff byte", `bad \xff byte`},
	}
	for _, tc := range cases {
		got := Printable(tc.in)
		if got != tc.want {
			t.Errorf("Printable(%q) = %q, want %q", tc.in, got, tc.want)
		}
		// What it escapes, it escapes as %q does.
		if q := fmt.Sprintf("%q", tc.in); !strings.ContainsAny(tc.in, `"\`) && q != `"`+got+`"` {
			t.Errorf("Printable(%q) = %s, %%q gives %s", tc.in, got, q)
		}
	}
}

func TestEventStringIsOneLine(t *testing.T) {
	e := Event{Source: "c1\n2026 forged", Time: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), Type: HasLeader,
		LeaderID: "evil\x1b[31m", Peers: []string{"p\r"}}
	got := e.String()
	want := `2026-01-01T00:00:00.000000000Z c1\n2026 forged state.has_leader leader=evil\x1b[31m peers=p\r`
	if got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
}
