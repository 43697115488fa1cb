package slack_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/leaderhook/leaderhook/actions"
	"github.com/leaderhook/leaderhook/actions/slack"
	"github.com/leaderhook/leaderhook/internal/fakes"
)

func newBot(t *testing.T, api *fakes.SlackAPI, stateDir string) *slack.Action {
	t.Helper()
	cfg := slack.Config{Token: api.Token, Channel: "#ops", APIURL: api.URL + "/api"}
	a, err := slack.New("chat", actions.Spec{Type: slack.Name, Config: cfg}, actions.Options{StateDir: stateDir})
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func episode(status string) *actions.Notification {
	start := time.Date(2026, 3, 1, 19, 3, 43, 0, time.UTC)
	n := &actions.Notification{Rule: "leaderless-30s", Status: status, Cluster: "ziti-prod", Episode: start, FiredAt: start.Add(30 * time.Second),
		PreviousLeaderID: "ctrl1", Leaderless: true, LeaderlessFor: 30 * time.Second}
	if status == actions.StatusResolved {
		n.FiredAt, n.LeaderID, n.Leaderless, n.LeaderlessFor, n.LastOutage, n.Lasted = start.Add(40*time.Second), "ctrl2", false, 0, 40*time.Second, 10*time.Second
	}
	return n
}

// The resolve edits the firing's message in place and replies in its
// thread, after a restart too: an incident is one message.
func TestBotEditsTheFiringsMessage(t *testing.T) {
	api := fakes.NewSlackAPI()
	defer api.Close()
	dir := t.TempDir()
	if out, err := newBot(t, api, dir).Run(context.Background(), episode(actions.StatusFiring)); err != nil {
		t.Fatalf("firing: %+v %v", out, err)
	}
	restarted := newBot(t, api, dir) // the same memory, as after a reload or a restart
	if out, err := restarted.Run(context.Background(), episode(actions.StatusResolved)); err != nil {
		t.Fatalf("resolve: %+v %v (calls %v)", out, err, api.Calls())
	}
	msgs := api.Messages()
	if len(msgs) != 2 {
		t.Fatalf("messages %+v", msgs)
	}
	first, reply := msgs[0], msgs[1]
	if first.Edits != 1 || !strings.Contains(first.Text, "RESOLVED") || first.Attachments[0]["color"] != slack.ColorResolved {
		t.Errorf("the firing's message was not edited to the resolve: %+v", first)
	}
	if reply.ThreadTS != first.TS || !strings.Contains(reply.Text, "the firing lasted 10s") {
		t.Errorf("reply %+v", reply)
	}
	if got := strings.Join(api.Calls(), ", "); got != "chat.postMessage ok, chat.update ok, chat.postMessage ok" {
		t.Errorf("calls: %s", got)
	}
}

// ratelimited (HTTP 200 ok:false, or 429) is retried; other ok:false
// answers are permanent, their error in the audit detail; the token never
// shows.
func TestBotErrors(t *testing.T) {
	api := fakes.NewSlackAPI()
	defer api.Close()
	a := newBot(t, api, "")
	api.RateLimit(1, 200)
	out, err := a.Run(context.Background(), episode(actions.StatusFiring))
	if err == nil || actions.IsPermanent(err) || !strings.Contains(out.Detail, "ratelimited") {
		t.Errorf("ratelimited: %+v %v", out, err)
	}
	api.RateLimit(1, 429)
	_, err = a.Run(context.Background(), episode(actions.StatusFiring))
	if after, ok := actions.RetryAfter(err); !ok || after != time.Second {
		t.Errorf("429: %v", err)
	}
	lost := slack.Config{Token: api.Token, Channel: "#nowhere", APIURL: api.URL + "/api"}
	b, _ := slack.New("chat", actions.Spec{Type: slack.Name, Config: lost}, actions.Options{})
	out, err = b.Run(context.Background(), episode(actions.StatusFiring))
	if !actions.IsPermanent(err) || !strings.Contains(out.Detail, "channel_not_found") {
		t.Errorf("unknown channel: %+v %v", out, err)
	}
	r, err := a.Render(episode(actions.StatusFiring))
	if err != nil || strings.Contains(r.URL+r.Body+r.Headers["Authorization"], api.Token) || !strings.HasSuffix(r.URL, "/chat.postMessage") {
		t.Errorf("rendering %+v %v", r, err)
	}
}

// The firing's message deleted in Slack before the resolve: chat.update
// answers message_not_found, and the resolve posts a new message.
func TestBotResolveOfADeletedMessage(t *testing.T) {
	api := fakes.NewSlackAPI()
	defer api.Close()
	a := newBot(t, api, t.TempDir())
	if _, err := a.Run(context.Background(), episode(actions.StatusFiring)); err != nil {
		t.Fatal(err)
	}
	api.DeleteAll()
	if out, err := a.Run(context.Background(), episode(actions.StatusResolved)); err != nil {
		t.Fatalf("resolve: %+v %v", out, err)
	}
	msgs := api.Messages()
	if len(msgs) != 1 || msgs[0].ThreadTS != "" || !strings.Contains(msgs[0].Text, "RESOLVED") {
		t.Errorf("messages %+v", msgs)
	}
	if got := strings.Join(api.Calls(), ", "); got != "chat.postMessage ok, chat.update message_not_found, chat.postMessage ok" {
		t.Errorf("calls: %s", got)
	}
}

// No message remembered for the episode (the firing was never posted, or
// its memory aged out): the resolve posts a new one.
func TestBotResolveOfAMissingMessage(t *testing.T) {
	api := fakes.NewSlackAPI()
	defer api.Close()
	a := newBot(t, api, "")
	if _, err := a.Run(context.Background(), episode(actions.StatusResolved)); err != nil {
		t.Fatal(err)
	}
	if msgs := api.Messages(); len(msgs) != 1 || msgs[0].ThreadTS != "" {
		t.Errorf("messages %+v", msgs)
	}
}

func TestBotConfig(t *testing.T) {
	for _, tc := range []struct {
		cfg  slack.Config
		want string
	}{
		{slack.Config{Token: "xoxb-1", Channel: "C0123ABCD"}, ""},
		{slack.Config{Token: "xoxb-1"}, "channel: is required with token"},
		{slack.Config{Token: "xoxb-1", Channel: "#ops", WebhookURL: "https://hooks.slack.com/x"}, "token: give webhook_url"},
		{slack.Config{WebhookURL: "https://hooks.slack.com/x", APIURL: "https://slack.example/api"}, "api_url: applies to a bot"},
	} {
		errs := tc.cfg.Validate()
		got := ""
		if len(errs) > 0 {
			got = errs[0].Path + ": " + errs[0].Msg
		}
		if !strings.HasPrefix(got, tc.want) || (tc.want == "") != (got == "") {
			t.Errorf("%+v: %q, want %q", tc.cfg, got, tc.want)
		}
	}
}

// Through the Web API too, a text template that fails on a real
// notification posts the default text, the audit detail saying why.
func TestBotFailingTextSendsTheDefault(t *testing.T) {
	api := fakes.NewSlackAPI()
	defer api.Close()
	cfg := slack.Config{Token: api.Token, Channel: "#ops", APIURL: api.URL + "/api", Text: "{{ .Event.gone }}"}
	a, err := slack.New("chat", actions.Spec{Type: slack.Name, Config: cfg}, actions.Options{})
	if err != nil {
		t.Fatal(err)
	}
	n := episode(actions.StatusFiring)
	n.Event = map[string]any{}
	out, err := a.Run(context.Background(), n)
	if err != nil {
		t.Fatalf("%+v %v", out, err)
	}
	msgs := api.Messages()
	if len(msgs) != 1 || !strings.HasPrefix(msgs[0].Text, "🔴 [FIRING] leaderless-30s on ziti-prod") {
		t.Fatalf("messages %+v", msgs)
	}
	if !strings.Contains(out.Detail, `action chat: template text failed: text:1:9: at <.Event.gone>: map has no entry for key "gone": the default text sent`) {
		t.Errorf("detail %q", out.Detail)
	}
}
