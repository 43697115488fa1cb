package actions

import (
	"strings"
	"testing"
)

// A message template that fails on real data, or renders only blanks where
// text is needed, gives the default and a note naming the action, the
// template and why.
func TestRenderMessage(t *testing.T) {
	n := &Notification{Cluster: "c", Event: map[string]any{"levels": []any{"a"}, "blank": " "}}
	cases := []struct {
		name, text, def string
		blankOK         bool
		want, note      string
	}{
		{"renders", `{{ .Cluster }}!`, "def", false, "c!", ""},
		{"missing key", `x{{ .Event.gone }}`, "def", false, "def",
			`action chat: template text failed: text:1:10: at <.Event.gone>: map has no entry for key "gone": the default text sent`},
		{"index out of range", `{{ index .Event.levels 3 }}`, "def", false, "def",
			"action chat: template text failed: text:1:3: at <index .Event.levels 3>: error calling index: index out of range: 3: the default text sent"},
		{"blank", `{{ .Event.blank }}`, "def", false, "def", "action chat: template text rendered nothing: the default text sent"},
		{"blank allowed", `{{ .Event.blank }}`, "def", true, " ", ""},
		{"no default", `{{ .Event.gone }}`, "", false, "", "left out"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tmpl, err := ParseTemplate("text", tc.text)
			if err != nil {
				t.Fatal(err)
			}
			text, note := RenderMessage("chat", tmpl, n, tc.def, tc.blankOK)
			if text != tc.want || (tc.note == "") != (note == "") || len(tc.note) > 0 && !strings.HasSuffix(note, tc.note) {
				t.Errorf("got %q, note %q; want %q, note %q", text, note, tc.want, tc.note)
			}
		})
	}
	if text, note := RenderMessage("chat", nil, n, "def", false); text != "def" || note != "" {
		t.Errorf("no template: %q %q", text, note)
	}
}

func TestNoted(t *testing.T) {
	if got := (Outcome{Detail: "ok"}).Noted("a; b").Detail; got != "a; b; ok" {
		t.Errorf("%q", got)
	}
	if got := (Outcome{}).Noted("a").Detail; got != "a" {
		t.Errorf("%q", got)
	}
	if got := (Outcome{Detail: "ok"}).Noted("").Detail; got != "ok" {
		t.Errorf("%q", got)
	}
}
