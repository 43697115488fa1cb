package teams_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/leaderhook/leaderhook/actions"
	"github.com/leaderhook/leaderhook/actions/teams"
	"github.com/leaderhook/leaderhook/internal/fakes"
)

func newAction(t *testing.T, cfg teams.Config, external string) *teams.Action {
	t.Helper()
	a, err := teams.New("teams", actions.Spec{Type: teams.Name, Config: cfg}, actions.Options{ExternalURL: external})
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func notification() *actions.Notification {
	at := time.Date(2026, 3, 1, 19, 3, 43, 0, time.UTC)
	return &actions.Notification{Rule: "leaderless-30s", Status: actions.StatusFiring, Cluster: "ziti-prod", FiredAt: at,
		PreviousLeaderID: "ctrl1 [click](https://evil.example)", Leaderless: true, LeaderlessFor: 30 * time.Second}
}

// The card is accepted by a Workflows webhook that checks the envelope and
// the card, has the colour, the facts and the link, and escapes event text.
func TestCardIsAccepted(t *testing.T) {
	srv := fakes.NewTeams()
	defer srv.Close()
	a := newAction(t, teams.Config{WebhookURL: srv.WebhookURL()}, "https://leaderhook.example/")
	n := notification()
	if out, err := a.Run(context.Background(), n); err != nil || out.HTTPStatus != 202 {
		t.Fatalf("%+v %v (refused: %v)", out, err, srv.Refused())
	}
	resolved := *n
	resolved.Status, resolved.Leaderless, resolved.LeaderlessFor, resolved.LastOutage, resolved.Lasted = actions.StatusResolved, false, 0, 33*time.Second, 3*time.Second
	resolved.LeaderID, resolved.PreviousLeaderID = "ctrl1", "ctrl1"
	if _, err := a.Run(context.Background(), &resolved); err != nil {
		t.Fatal(err, srv.Refused())
	}
	cards := srv.Cards()
	if len(cards) != 2 {
		t.Fatalf("%d cards", len(cards))
	}
	data, _ := json.Marshal(cards)
	for _, want := range []string{`"version":"1.4"`, `"style":"attention"`, `"style":"good"`, `"color":"Attention"`,
		`"title":"Leaderless for","value":"30s"`, `"title":"Leaderless for","value":"33s (ended)"`, `"title":"Previous leader","value":"ctrl1 \\[click\\]\\(https://evil.example\\)"`,
		`"url":"https://leaderhook.example/"`, `ctrl1 back after 33s; the firing lasted 3s`} {
		if !strings.Contains(string(data), want) {
			t.Errorf("the cards lack %s:\n%s", want, data)
		}
	}
	if strings.Contains(string(data), "](https://evil") {
		t.Error("an id made a link")
	}
}

// Without server.external_url there is no button; a wrong signature is
// permanent, a 429 waits as asked; the signature never shows.
func TestErrorsAndSecrets(t *testing.T) {
	srv := fakes.NewTeams()
	defer srv.Close()
	a := newAction(t, teams.Config{WebhookURL: srv.WebhookURL(), Title: "{{ .Cluster }} needs you"}, "")
	r, err := a.Render(notification())
	if err != nil || strings.Contains(r.Body, "Action.OpenUrl") || strings.Contains(r.URL+r.Body, srv.Sig) || !strings.Contains(r.Body, "ziti-prod needs you") {
		t.Errorf("rendering %+v %v", r, err)
	}
	srv.RateLimit(1)
	_, err = a.Run(context.Background(), notification())
	if after, ok := actions.RetryAfter(err); !ok || after != time.Second {
		t.Errorf("429: %v", err)
	}
	wrong := newAction(t, teams.Config{WebhookURL: strings.Replace(srv.WebhookURL(), srv.Sig, "d3JvbmctLXNpZ25hdHVyZQ", 1)}, "")
	out, err := wrong.Run(context.Background(), notification())
	if !actions.IsPermanent(err) || out.HTTPStatus != 401 || strings.Contains(err.Error()+out.Detail, "d3JvbmctLXNpZ25hdHVyZQ") {
		t.Errorf("wrong signature: %+v %v", out, err)
	}
}

// Values from ${VAR}s are hidden from errors as every kind hides them:
// a short one (a word such as "error") is left, not blanked wherever it
// appears.
func TestEnvValuesRedactedAsElsewhere(t *testing.T) {
	srv := fakes.NewTeams()
	defer srv.Close()
	url := strings.Replace(srv.WebhookURL(), srv.Sig, "d3JvbmctLXNpZ25hdHVyZQ", 1)
	a, err := teams.New("teams", actions.Spec{Type: teams.Name, Config: teams.Config{WebhookURL: url},
		FromEnv: []string{"error", "authenticated"}}, actions.Options{})
	if err != nil {
		t.Fatal(err)
	}
	out, err := a.Run(context.Background(), notification())
	if err == nil || !strings.Contains(out.Detail, `"error"`) || strings.Contains(err.Error()+out.Detail, "authenticated") {
		t.Errorf("%+v %v: want \"error\" kept, \"authenticated\" hidden", out, err)
	}
}

func TestValidate(t *testing.T) {
	if errs := (teams.Config{}).Validate(); len(errs) != 1 || errs[0].Path != "webhook_url" {
		t.Errorf("no URL: %v", errs)
	}
	if errs := (teams.Config{WebhookURL: "https://x.example/", Text: "{{ .Clustr }}"}).Validate(); len(errs) != 1 || errs[0].Path != "text" {
		t.Errorf("bad text: %v", errs)
	}
}

// A title or text template that passes the sample check but fails on a
// real notification, or renders nothing, still posts the card, with the
// default title or text, and the audit detail says which template failed
// and why.
func TestFailingTemplatesSendTheDefaults(t *testing.T) {
	srv := fakes.NewTeams()
	defer srv.Close()
	cfg := teams.Config{WebhookURL: srv.WebhookURL(), Title: "{{ .Event.previousLeaderId }}", Text: "{{ .Event.leaderId }}"}
	if errs := cfg.Validate(); len(errs) > 0 {
		t.Fatal(errs)
	}
	a := newAction(t, cfg, "")
	n := notification()
	n.Event = map[string]any{"leaderId": " "}
	out, err := a.Run(context.Background(), n)
	if err != nil {
		t.Fatalf("%+v %v (refused: %v)", out, err, srv.Refused())
	}
	data, _ := json.Marshal(srv.Cards())
	for _, want := range []string{`"text":"[FIRING] leaderless-30s on ziti-prod"`, `"text":"no leader for 30s \\(was ctrl1 \\[click\\]\\(https://evil.example\\)\\)"`} {
		if !strings.Contains(string(data), want) {
			t.Errorf("the card lacks %s:\n%s", want, data)
		}
	}
	for _, want := range []string{`action teams: template title failed: title:1:9: at <.Event.previousLeaderId>: map has no entry for key "previousLeaderId": the default title sent`,
		"action teams: template text rendered nothing: the default text sent"} {
		if !strings.Contains(out.Detail, want) {
			t.Errorf("detail %q lacks %q", out.Detail, want)
		}
	}
}

// A card over Teams' 28 KB message (a text template that inserts a long
// event field) is cut to fit, ending with …, rather than refused (a
// Workflows webhook takes it, then never posts it); the audit detail says
// so.
func TestLongTextIsCutToFit(t *testing.T) {
	srv := fakes.NewTeams()
	defer srv.Close()
	a := newAction(t, teams.Config{WebhookURL: srv.WebhookURL(), Title: "{{ .Event.leaderId }}", Text: "note: {{ .Event.leaderId }}"}, "")
	n := notification()
	n.Event = map[string]any{"leaderId": strings.Repeat("a_<", 20<<10)}
	out, err := a.Run(context.Background(), n)
	if err != nil {
		t.Fatalf("%+v %v (refused: %v)", out, err, srv.Refused())
	}
	cards := srv.Cards()
	if len(cards) != 1 {
		t.Fatalf("%d cards", len(cards))
	}
	data, _ := json.Marshal(cards[0])
	for _, want := range []string{`"text":"note: a\\_\\\u003ca`, `…"`, `"title":"Fired at"`} {
		if !strings.Contains(string(data), want) {
			t.Errorf("the card lacks %s:\n%.300s", want, data)
		}
	}
	if !strings.Contains(out.Detail, "cut to fit") {
		t.Errorf("detail %q does not say the card was cut", out.Detail)
	}
}
