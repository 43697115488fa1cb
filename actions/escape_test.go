package actions

import (
	"strconv"
	"strings"
	"testing"
	"text/template"

	"github.com/leaderhook/leaderhook/field"
)

// bracket marks what the escaper saw, so that a test shows exactly which
// text went through it.
func bracket(s string) string { return "[" + s + "]" }

func TestParseEscaped(t *testing.T) {
	n := firing()
	n.LeaderID = "<evil>"
	n.Event["members"] = []any{"a", "<b>"}
	cases := []struct{ name, text, want string }{
		{"own text kept", "<!here> plain", "<!here> plain"},
		{"a field", "leader {{ .LeaderID }}!", "leader [<evil>]!"},
		{"a pipeline", `{{ .Event.members | join ", " }}`, "[a, <b>]"},
		{"a function", `{{ upper .Cluster }}`, "[ZITI-PROD]"},
		{"printf", `{{ printf "%s/%s" .Rule .LeaderID }}`, "[leaderless-30s/<evil>]"},
		{"a condition sees the raw value", `{{ if eq .LeaderID "<evil>" }}yes{{ end }}`, "yes"},
		{"inside if, else, range and with", `{{ if .Leaderless }}{{ .Rule }}{{ else }}-{{ end }}` +
			`{{ range .Event.members }} {{ . }}{{ else }}none{{ end }}{{ with .Labels.env }} {{ . }}{{ end }}`,
			"[leaderless-30s] [a] [<b>] [prod]"},
		{"a variable prints nothing when set", `{{ $l := .LeaderID }}{{ $l = .Rule }}{{ $l }}`, "[leaderless-30s]"},
		{"a defined template is escaped once", `{{ define "x" }}<{{ .LeaderID }}>{{ end }}{{ template "x" . }}`, "<[<evil>]>"},
		{"a duration and a bool", `{{ .LeaderlessFor }} {{ .Leaderless }}`, "[30.5s] [true]"},
		{"a missing label", `{{ index .Labels "nope" }}`, "[]"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tmpl, err := ParseEscaped("t", tc.text, bracket)
			if err != nil {
				t.Fatal(err)
			}
			var b strings.Builder
			if err := tmpl.Execute(&b, &n); err != nil {
				t.Fatal(err)
			}
			if b.String() != tc.want {
				t.Errorf("%s rendered %q, want %q", tc.text, b.String(), tc.want)
			}
		})
	}
}

func TestParseEscapedReportsParseErrors(t *testing.T) {
	if _, err := ParseEscaped("t", "{{ .Rule ", bracket); err == nil {
		t.Error("an unclosed action parsed")
	}
}

func TestParseStrict(t *testing.T) {
	n := firing()
	n.Event["previousLeaderId"] = nil
	cases := []struct{ name, text, want string }{
		{"a field", "{{ .Cluster }}", "ziti-prod"},
		{"a missing label is empty", `{{ index .Labels "nope" }}`, ""},
		{"index with a default", `{{ default "none" (index .Event "nope") }}`, "none"},
		{"a variable prints nothing", `{{ $l := index .Event "nope" }}{{ if $l }}{{ $l }}{{ end }}`, ""},
		{"index of a missing event key fails", `{{ index .Event "nope" }}`, "error"},
		{"a null event key fails", `{{ .Event.previousLeaderId }}`, "error"},
		{"inside a defined template too", `{{ define "x" }}{{ index .Event "nope" }}{{ end }}{{ template "x" . }}`, "error"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			for kind, parse := range map[string]func() (*template.Template, error){
				"strict":  func() (*template.Template, error) { return ParseStrict("t", tc.text) },
				"escaped": func() (*template.Template, error) { return ParseStrictEscaped("t", tc.text, strings.ToUpper) },
			} {
				tmpl, err := parse()
				if err != nil {
					t.Fatal(err)
				}
				var b strings.Builder
				got, want := b.String(), tc.want
				if err := tmpl.Execute(&b, &n); err != nil {
					got = "error"
				} else if got = b.String(); kind == "escaped" {
					want = strings.ToUpper(want) // the escaper's mark
				}
				if got != want {
					t.Errorf("%s %s rendered %q, want %q", kind, tc.text, got, want)
				}
			}
		})
	}
}

// check warns of a strict template that prints no value for a sample
// notification: it would fail the delivery, at run time, for good.
func TestCheckStrictTemplateWarns(t *testing.T) {
	cases := []struct{ name, text, want string }{
		{"a field", "{{ .Cluster }}", ""},
		{"index with a default", `{{ default "none" (index .Event "previousLeaderId") }}`, ""},
		{"a missing label is empty", `{{ index .Labels "nope" }}`, ""},
		{"index of a key a sample lacks", `id={{ index .Event "leaderId" }}`,
			`x@6: template: {{ index .Event "leaderId" }} prints no value for a sample firing ` +
				`(a key the event lacks, or null), which fails the delivery; for a key it may lack, write default "…" (index .Event "key")`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var warns field.List
			CheckStrictTemplate(&warns, "x", tc.text)
			var got []string
			for _, w := range warns {
				got = append(got, w.Path+"@"+strconv.Itoa(w.Offset)+": "+w.Msg)
			}
			if strings.Join(got, "\n") != tc.want {
				t.Errorf("\n got: %q\nwant: %q", got, tc.want)
			}
		})
	}
}
