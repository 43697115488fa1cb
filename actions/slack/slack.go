// Package slack posts notifications to a Slack incoming webhook: a Block Kit
// message in a red (firing) or green (resolved) attachment with the
// cluster, the leader, the previous leader, how long the cluster has been
// leaderless and when the rule fired. The webhook URL is a secret: its path
// never appears in errors, outcomes or renderings. Text from events is
// escaped wherever it goes into mrkdwn, the `text` template's insertions
// included, so that an id cannot add a mention or a link or forge lines.
//
// One Run is one attempt, classified as webhook actions are: 2xx success,
// 429 (Slack's rate limit, with Retry-After) and 5xx retryable, other 4xx
// (404 no_service, 400 invalid_payload...) permanent.
package slack

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"text/template"
	"time"
	"unicode/utf8"

	"github.com/leaderhook/leaderhook/actions"
	"github.com/leaderhook/leaderhook/actions/webhook"
	"github.com/leaderhook/leaderhook/event"
)

// Attachment colours.
const (
	ColorFiring   = "#d00000"
	ColorResolved = "#2eb67d"
)

// Block Kit and message limits, in characters.
const (
	MaxHeaderText = 150    // header block text
	MaxFields     = 10     // fields of a section block
	MaxFieldText  = 2000   // one field
	MaxText       = 40_000 // top-level text; Slack truncates longer messages
)

// Action is a Slack action.
type Action struct {
	name    string
	cfg     Config
	timeout time.Duration // of one attempt
	client  *http.Client
	text    *template.Template // nil: the default one-line summary
	where   string             // the webhook URL with its path hidden, or the Web API's
	hide    *strings.Replacer  // hides forms of the URL, its path and its query, or the token
	bot     *bot               // nil: an incoming webhook
}

// New builds the action from a spec; the text template is parsed once,
// here. opts.Client may be nil (see webhook.DefaultClient). With a token
// the action posts through the Web API (see bot.go), keeping the
// messages it edits in its memory under opts.StateDir. Errors never show
// the webhook URL or the token.
func New(name string, spec actions.Spec, opts actions.Options) (*Action, error) {
	spec, cfg, err := actions.ConfigOf[Config](spec, actions.HTTPDelivery)
	if err != nil {
		return nil, fmt.Errorf("action %s: %w", name, err)
	}
	client := opts.Client
	if client == nil {
		client = webhook.DefaultClient()
	}
	a := &Action{name: name, cfg: cfg, timeout: spec.Timeout, client: client}
	if cfg.Token != "" {
		err = a.setUpBot(name, opts.StateDir)
	} else {
		err = a.setUpWebhook()
	}
	if err != nil {
		return nil, fmt.Errorf("action %s: %w", name, err)
	}
	if cfg.Text != "" {
		// What the template inserts is escaped: an id from an event must
		// not add a mention or a link, nor forge lines.
		t, err := actions.ParseEscaped("text", cfg.Text, escape)
		if err != nil {
			return nil, fmt.Errorf("action %s: %s", name, a.redact(err.Error()))
		}
		a.text = t
	}
	return a, nil
}

// setUpWebhook checks the webhook URL and learns to hide it: its path is
// the credential.
func (a *Action) setUpWebhook() error {
	u, err := url.Parse(a.cfg.WebhookURL)
	switch {
	case a.cfg.WebhookURL == "":
		return errors.New("webhook_url or token is required")
	case err != nil:
		return errors.New("webhook_url is not a valid URL")
	case u.Scheme != "http" && u.Scheme != "https" || u.Host == "":
		return errors.New("webhook_url must be an http:// or https:// URL with a host")
	}
	a.where = u.Scheme + "://" + u.Host + "/REDACTED"
	pairs := []string{a.cfg.WebhookURL, a.where, u.String(), a.where}
	for _, p := range []string{u.EscapedPath(), u.Path, u.RawPath} {
		if len(p) >= 4 {
			pairs = append(pairs, p, "/REDACTED")
		}
	}
	if len(u.RawQuery) >= 4 {
		pairs = append(pairs, u.RawQuery, "REDACTED")
	}
	a.hide = strings.NewReplacer(pairs...)
	return nil
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

// Build returns the message for a notification, and a note when the text
// template failed on it, or rendered only blanks, and the default text
// was put in its place (see actions.RenderMessage).
func (a *Action) Build(n *actions.Notification) (msg Message, note string) {
	status, color, dot := "FIRING", ColorFiring, "🔴"
	if n.Status == actions.StatusResolved {
		status, color, dot = "RESOLVED", ColorResolved, "🟢"
	}
	def := fmt.Sprintf("%s [%s] %s on %s: %s", dot, status, escape(n.Rule), escape(n.Cluster), escape(n.Summary()))
	text, note := actions.RenderMessage(a.name, a.text, n, def, false)
	leader := n.LeaderID
	if leader == "" {
		leader = "none"
	}
	leaderless := "—"
	if n.Leaderless || n.LeaderlessFor > 0 {
		leaderless = Human(n.LeaderlessFor)
	}
	fields := []*Text{
		sectionField("Cluster", n.Cluster),
		sectionField("Leader", leader),
		sectionField("Previous leader", or(n.PreviousLeaderID, "—")),
		sectionField("Leaderless for", leaderless),
		sectionField("Fired at", n.FiredAt.UTC().Format("2006-01-02 15:04:05 MST")),
	}
	return Message{
		Channel: a.cfg.Channel, Username: a.cfg.Username, IconEmoji: a.cfg.IconEmoji, Text: fit(text, MaxText),
		Attachments: []Attachment{{Color: color, Blocks: []Block{
			{Type: "header", Text: &Text{Type: "plain_text", Text: fit("["+status+"] "+or(n.Rule, "(unnamed rule)"), MaxHeaderText)}},
			{Type: "section", Fields: fields[:min(len(fields), MaxFields)]},
		}}},
	}, note
}

// sectionField is a mrkdwn field "*Label*\nvalue", value escaped and cut to fit.
func sectionField(label, value string) *Text {
	head := "*" + label + "*\n"
	return &Text{Type: "mrkdwn", Text: head + escapeFit(or(value, "—"), MaxFieldText-utf8.RuneCountInString(head))}
}

// Human writes a duration for people: 450ms, 30s, 2m5s, 1h30m, 2d3h.
func Human(d time.Duration) string { return actions.HumanDuration(d) }

// markup turns the characters Slack reads as markup into entities.
var markup = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;")

// escape makes s literal in mrkdwn: Slack wants &, < and > as entities,
// and control characters are written as \n, \x1b... (event.Printable), so
// that a value is one line of text whatever it holds.
func escape(s string) string {
	return markup.Replace(event.Printable(s))
}

// escapeFit escapes s within limit characters, ending with … when cut and
// never cutting an entity in two.
func escapeFit(s string, limit int) string {
	if e := escape(s); utf8.RuneCountInString(e) <= limit {
		return e
	}
	var b strings.Builder
	count := 0
	for _, r := range s {
		piece := escape(string(r))
		if count+utf8.RuneCountInString(piece) > limit-1 {
			break
		}
		b.WriteString(piece)
		count += utf8.RuneCountInString(piece)
	}
	return b.String() + "…"
}

// fit cuts s to limit characters, ending with … when cut.
func fit(s string, limit int) string {
	if utf8.RuneCountInString(s) <= limit {
		return s
	}
	return string([]rune(s)[:limit-1]) + "…"
}

func or(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// Run posts the message once, bounded by ctx and by the action's timeout.
func (a *Action) Run(ctx context.Context, n *actions.Notification) (actions.Outcome, error) {
	if a.bot != nil {
		return a.runBot(ctx, n)
	}
	msg, note := a.Build(n)
	body, err := json.Marshal(msg)
	if err != nil {
		return actions.Outcome{}, actions.Permanent(fmt.Errorf("encode message: %w", err))
	}
	if a.timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, a.timeout)
		defer cancel()
	}
	out, err := webhook.PostJSON(ctx, a.client, a.cfg.WebhookURL, a.where, body, a.redact)
	return out.Noted(a.redact(note)), err
}

// redact hides the webhook URL's path and query (the credential), then
// what actions.Redact hides.
func (a *Action) redact(s string) string {
	return actions.Redact(a.hide.Replace(s))
}

// Where is the endpoint, as messages show it.
func (a *Action) Where() string { return a.where }

// Render shows the message a run would post, the URL's path (or the
// token) hidden.
func (a *Action) Render(n *actions.Notification) (actions.Rendering, error) {
	if a.bot != nil {
		return a.renderBot(n)
	}
	msg, note := a.Build(n)
	body, err := json.Marshal(msg)
	if err != nil {
		return actions.Rendering{}, fmt.Errorf("encode message: %w", err)
	}
	r := webhook.JSONRendering(Name, a.where, body, a.redact)
	r.Notes = a.redact(note)
	return r, nil
}
