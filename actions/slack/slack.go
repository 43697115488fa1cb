// Package slack posts notifications to a Slack incoming webhook: a Block Kit
// message in a red (firing) or green (resolved) attachment with the
// cluster, the leader, the previous leader and how long the cluster has
// been leaderless. The webhook URL is a secret: it never appears in logs.
package slack

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"text/template"
	"time"

	"github.com/leaderhook/leaderhook/actions"
	"github.com/leaderhook/leaderhook/actions/webhook"
)

// Attachment colours.
const (
	ColorFiring   = "#d00000"
	ColorResolved = "#2eb67d"
)

// Action is a Slack action.
type Action struct {
	name   string
	spec   actions.Spec
	client *http.Client
	text   *template.Template
}

// New builds the action from a validated spec. client may be nil.
func New(name string, spec actions.Spec, client *http.Client) (*Action, error) {
	spec = spec.Defaults()
	if client == nil {
		client = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	}
	a := &Action{name: name, spec: spec, client: client}
	if spec.Text != "" {
		t, err := actions.ParseTemplate(name+".text", spec.Text)
		if err != nil {
			return nil, err
		}
		a.text = t
	}
	return a, nil
}

// Message is an incoming-webhook message.
type Message struct {
	Channel     string       `json:"channel,omitempty"`
	Username    string       `json:"username,omitempty"`
	IconEmoji   string       `json:"icon_emoji,omitempty"`
	Text        string       `json:"text"`
	Attachments []Attachment `json:"attachments"`
}

// Attachment carries the colour bar and the blocks.
type Attachment struct {
	Color  string  `json:"color"`
	Blocks []Block `json:"blocks"`
}

// Block is a Block Kit block (header or section).
type Block struct {
	Type   string  `json:"type"`
	Text   *Text   `json:"text,omitempty"`
	Fields []*Text `json:"fields,omitempty"`
}

// Text is a Block Kit text object.
type Text struct {
	Type string `json:"type"` // plain_text or mrkdwn
	Text string `json:"text"`
}

// Build returns the message for a notification.
func (a *Action) Build(n *actions.Notification) (Message, error) {
	status, color, dot := "FIRING", ColorFiring, "🔴"
	if n.Status == actions.StatusResolved {
		status, color, dot = "RESOLVED", ColorResolved, "🟢"
	}
	text := fmt.Sprintf("%s [%s] %s on %s: %s", dot, status, n.Rule, n.Cluster, summary(n))
	if a.text != nil {
		var b strings.Builder
		if err := a.text.Execute(&b, n); err != nil {
			return Message{}, fmt.Errorf("render text: %w", err)
		}
		text = b.String()
	}
	leader := n.LeaderID
	if leader == "" {
		leader = "none"
	}
	previous := n.PreviousLeaderID
	if previous == "" {
		previous = "—"
	}
	fields := []*Text{
		{Type: "mrkdwn", Text: "*Cluster*\n" + n.Cluster},
		{Type: "mrkdwn", Text: "*Leader*\n" + leader},
		{Type: "mrkdwn", Text: "*Previous leader*\n" + previous},
	}
	if n.Leaderless {
		fields = append(fields, &Text{Type: "mrkdwn", Text: "*Leaderless for*\n" + human(n.LeaderlessFor)})
	}
	fields = append(fields, &Text{Type: "mrkdwn", Text: "*At*\n" + n.FiredAt.UTC().Format("2006-01-02 15:04:05 MST")})
	return Message{
		Channel: a.spec.Channel, Username: a.spec.Username, IconEmoji: a.spec.IconEmoji, Text: text,
		Attachments: []Attachment{{Color: color, Blocks: []Block{
			{Type: "header", Text: &Text{Type: "plain_text", Text: truncate(fmt.Sprintf("[%s] %s", status, n.Rule), 150)}},
			{Type: "section", Fields: fields},
		}}},
	}, nil
}

func summary(n *actions.Notification) string {
	switch {
	case n.Leaderless && n.PreviousLeaderID != "":
		return fmt.Sprintf("no leader for %s (was %s)", human(n.LeaderlessFor), n.PreviousLeaderID)
	case n.Leaderless:
		return fmt.Sprintf("no leader for %s", human(n.LeaderlessFor))
	case n.PreviousLeaderID != "" && n.PreviousLeaderID != n.LeaderID:
		return fmt.Sprintf("leader %s (was %s)", n.LeaderID, n.PreviousLeaderID)
	}
	return "leader " + n.LeaderID
}

func human(d time.Duration) string {
	return d.Round(time.Second).String()
}

func truncate(s string, n int) string {
	if r := []rune(s); len(r) > n {
		return string(r[:n-1]) + "…"
	}
	return s
}

// Run posts the message once.
func (a *Action) Run(ctx context.Context, n *actions.Notification) (actions.Outcome, error) {
	msg, err := a.Build(n)
	if err != nil {
		return actions.Outcome{}, actions.Permanent(err)
	}
	body, err := json.Marshal(msg)
	if err != nil {
		return actions.Outcome{}, actions.Permanent(err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, a.spec.WebhookURL, bytes.NewReader(body))
	if err != nil {
		return actions.Outcome{}, actions.Permanent(fmt.Errorf("slack webhook URL: %s", a.redact(err.Error())))
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := a.client.Do(req)
	if err != nil {
		return actions.Outcome{Detail: "no answer"}, fmt.Errorf("slack: %s", a.redact(err.Error()))
	}
	defer resp.Body.Close()
	snippet, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	return actions.Outcome{HTTPStatus: resp.StatusCode, Detail: string(snippet)}, webhook.Classify(resp, a.redact)
}

// redact hides the webhook URL's path: it is the credential.
func (a *Action) redact(s string) string {
	if a.spec.WebhookURL != "" {
		s = strings.ReplaceAll(s, a.spec.WebhookURL, a.redactedURL())
	}
	return actions.Redact(s)
}

func (a *Action) redactedURL() string {
	u := a.spec.WebhookURL
	if i := strings.Index(u, "://"); i >= 0 {
		if j := strings.IndexByte(u[i+3:], '/'); j >= 0 {
			return u[:i+3+j] + "/REDACTED"
		}
	}
	return "REDACTED"
}

// Render shows the message a run would post.
func (a *Action) Render(n *actions.Notification) (actions.Rendering, error) {
	msg, err := a.Build(n)
	if err != nil {
		return actions.Rendering{}, err
	}
	body, err := json.Marshal(msg)
	if err != nil {
		return actions.Rendering{}, err
	}
	return actions.Rendering{Kind: actions.KindSlack, Method: http.MethodPost, URL: a.redactedURL(), Body: string(body)}, nil
}
