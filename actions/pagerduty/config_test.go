package pagerduty

import (
	"strings"
	"testing"
)

func TestValidate(t *testing.T) {
	const key = "R0UTINGKEY0123456789abcdef012345"
	cases := []struct {
		cfg  Config
		want string // "" for valid; else "path: message" begins so
	}{
		{Config{RoutingKey: key}, ""},
		{Config{RoutingKey: key, URL: "https://events.eu.pagerduty.com/v2/enqueue", Severity: "warning", Change: true}, ""},
		{Config{RoutingKey: key, Severity: `{{ if .Leaderless }}critical{{ else }}info{{ end }}`}, ""},
		{Config{}, "routing_key: is required"},
		{Config{RoutingKey: "sekret"}, "routing_key: must be 32 characters long"},
		{Config{RoutingKey: key, URL: "events.pagerduty.com"}, "url: must be an absolute"},
		{Config{RoutingKey: key, Severity: "fatal"}, `severity: unknown severity "fatal"`},
		// A template is rendered with the sample at load: what PagerDuty
		// would refuse fails check, not the first page.
		{Config{RoutingKey: key, Severity: `{{ if .Leaderless }}crit{{ else }}info{{ end }}`}, `severity: renders "crit" for a sample firing`},
		{Config{RoutingKey: key, Severity: `{{ .Labels.env }}`}, `severity: renders "prod" for a sample firing`},
		{Config{RoutingKey: key, Severity: `{{ index .Labels "severity" | default "critical" }}`}, ""},
		{Config{RoutingKey: key, Severity: `{{ .Labels.severity }}`}, ""}, // depends on the rule's labels
		{Config{RoutingKey: key, Summary: "{{ .Clustr }}"}, "summary: template: unknown field .Clustr"},
	}
	for _, tc := range cases {
		errs := tc.cfg.Validate()
		switch {
		case tc.want == "" && len(errs) > 0:
			t.Errorf("%+v: %v", tc.cfg, errs)
		case tc.want != "" && (len(errs) != 1 || !strings.HasPrefix(errs[0].Path+": "+errs[0].Msg, tc.want)):
			t.Errorf("%+v: %v, want %s", tc.cfg, errs, tc.want)
		}
		if len(errs) > 0 && strings.Contains(errs.Error(), "sekret") {
			t.Errorf("the key in %v", errs)
		}
	}
	if got := (Config{RoutingKey: key}).Defaults().(Config); got.URL != DefaultURL || got.Severity != "critical" {
		t.Errorf("defaults %+v", got)
	}
}
