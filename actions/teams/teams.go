// Package teams posts notifications to Microsoft Teams through a Workflows
// webhook, as an Adaptive Card: a title in a red (firing) or green
// (resolved) container, the text, the facts (cluster, leader, previous
// leader, leaderless for, fired at) and, when server.external_url is set,
// a button to leaderhook's page.
//
// What this relies on, from Microsoft's Teams documentation: Workflows
// webhooks take Adaptive Cards only (not the MessageCard format of the
// retired Office 365 connectors), posted as a message whose attachments
// hold the card with contentType application/vnd.microsoft.card.adaptive;
// Teams renders card schema versions up to 1.5 on desktop and web, and the
// card uses only what version 1.4 has, which every Teams client renders.
// A Workflows webhook answers 202 Accepted; 429 and 5xx are retried,
// other answers are not. It accepts a message over Teams' 28 KB too, and
// then fails to post it: the text (and a long title) are cut to fit.
package teams

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"text/template"
	"time"
	"unicode/utf8"

	"github.com/leaderhook/leaderhook/actions"
	"github.com/leaderhook/leaderhook/actions/webhook"
	"github.com/leaderhook/leaderhook/event"
)

// Card constants.
const (
	ContentType   = "application/vnd.microsoft.card.adaptive"
	CardSchema    = "http://adaptivecards.io/schemas/adaptive-card.json"
	CardVersion   = "1.4"
	StatePagePath = "/" // the live page
)

// Action is a Teams action.
type Action struct {
	name    string
	cfg     Config
	timeout time.Duration
	client  *http.Client
	title   *template.Template // nil: the default
	text    *template.Template // nil: the default
	link    string             // leaderhook's page, "" without server.external_url
	where   string             // the webhook URL with its query hidden
	secrets actions.Redactor
}

// New builds the action; templates are parsed once, here.
func New(name string, spec actions.Spec, opts actions.Options) (*Action, error) {
	spec, cfg, err := actions.ConfigOf[Config](spec, actions.HTTPDelivery)
	if err != nil {
		return nil, fmt.Errorf("action %s: %w", name, err)
	}
	if errs := cfg.Validate(); len(errs) > 0 {
		return nil, fmt.Errorf("action %s: %s", name, actions.Redact(errs[0].Error(), spec.Secrets()...))
	}
	client := opts.Client
	if client == nil {
		client = webhook.DefaultClient()
	}
	a := &Action{name: name, cfg: cfg, timeout: spec.Timeout, client: client, where: actions.Redact(cfg.WebhookURL),
		secrets: actions.NewRedactor(append(actions.URLSecrets(cfg.WebhookURL), spec.EnvSecrets()...)...)}
	if opts.ExternalURL != "" {
		a.link = strings.TrimRight(opts.ExternalURL, "/") + StatePagePath
	}
	for _, t := range []struct {
		into *(*template.Template)
		name string
		text string
	}{{&a.title, "title", cfg.Title}, {&a.text, "text", cfg.Text}} {
		if t.text == "" {
			continue
		}
		if *t.into, err = actions.ParseEscaped(t.name, t.text, escape); err != nil {
			return nil, fmt.Errorf("action %s: %s", name, a.redact(err.Error()))
		}
	}
	return a, nil
}

// Message is what a Workflows webhook takes.
type Message struct {
	Type        string       `json:"type"`
	Attachments []Attachment `json:"attachments"`
}

// Attachment holds the card.
type Attachment struct {
	ContentType string `json:"contentType"`
	Content     Card   `json:"content"`
}

// Card is an Adaptive Card.
type Card struct {
	Schema  string         `json:"$schema"`
	Type    string         `json:"type"`
	Version string         `json:"version"`
	Body    []any          `json:"body"`
	Actions []OpenURL      `json:"actions,omitempty"`
	MSTeams map[string]any `json:"msteams,omitempty"`
}

// Container, TextBlock, FactSet, Fact and OpenURL are the card elements
// used.
type (
	Container struct {
		Type  string `json:"type"`
		Style string `json:"style"`
		Bleed bool   `json:"bleed"`
		Items []any  `json:"items"`
	}
	TextBlock struct {
		Type   string `json:"type"`
		Text   string `json:"text"`
		Wrap   bool   `json:"wrap"`
		Weight string `json:"weight,omitempty"`
		Size   string `json:"size,omitempty"`
		Color  string `json:"color,omitempty"`
	}
	FactSet struct {
		Type  string `json:"type"`
		Facts []Fact `json:"facts"`
	}
	Fact struct {
		Title string `json:"title"`
		Value string `json:"value"`
	}
	OpenURL struct {
		Type  string `json:"type"`
		Title string `json:"title"`
		URL   string `json:"url"`
	}
)

// Build returns the message for a notification, and notes when the title
// or text template failed on it, or rendered only blanks, and the default
// was put in its place (see actions.RenderMessage).
func (a *Action) Build(n *actions.Notification) (msg Message, notes string) {
	status, style, color := "FIRING", "attention", "Attention"
	if n.Status == actions.StatusResolved {
		status, style, color = "RESOLVED", "good", "Good"
	}
	title, titleNote := actions.RenderMessage(a.name, a.title, n, "["+status+"] "+escape(n.Rule)+" on "+escape(n.Cluster), false)
	text, textNote := actions.RenderMessage(a.name, a.text, n, escape(n.Summary()), false)
	build := func(title, text string) Message { return a.message(n, style, color, title, text) }
	msg, cutNote := fit(build, title, text)
	return msg, actions.JoinNotes(titleNote, textNote, a.noted(cutNote))
}

// message is the card of n with title and text.
func (a *Action) message(n *actions.Notification, style, color, title, text string) Message {
	card := Card{Schema: CardSchema, Type: "AdaptiveCard", Version: CardVersion, MSTeams: map[string]any{"width": "Full"},
		Body: []any{
			Container{Type: "Container", Style: style, Bleed: true, Items: []any{
				TextBlock{Type: "TextBlock", Text: title, Wrap: true, Weight: "Bolder", Size: "Medium", Color: color}}},
			TextBlock{Type: "TextBlock", Text: text, Wrap: true},
			FactSet{Type: "FactSet", Facts: facts(n)},
		}}
	if a.link != "" {
		card.Actions = []OpenURL{{Type: "Action.OpenUrl", Title: "Open leaderhook", URL: a.link}}
	}
	return Message{Type: "message", Attachments: []Attachment{{ContentType: ContentType, Content: card}}}
}

// MaxMessage is Teams' bound on a message, in bytes: a Workflows webhook
// accepts a larger card, then fails to post it where nobody looks.
const MaxMessage = 28 << 10

// maxTitle is what a title too long for the message keeps, in characters,
// before the text is cut: a heading, not the message.
const maxTitle = 500

// fit builds the message, cutting a long title, then the text, then the
// title further, until it encodes within MaxMessage, and notes what it cut.
func fit(build func(title, text string) Message, title, text string) (Message, string) {
	msg, cut := build(title, text), map[string]bool{}
	for {
		over := encodedSize(msg) - MaxMessage
		switch r := utf8.RuneCountInString(title); {
		case over <= 0:
			return msg, cutNames(cut)
		case r > maxTitle:
			title, cut["title"] = cutTo(title, maxTitle-1), true
		case text != "…":
			text, cut["text"] = cutBy(text, over), true
		case title != "…":
			title, cut["title"] = cutBy(title, over), true
		default: // the facts alone are bounded well below
			return msg, cutNames(cut)
		}
		msg = build(title, text)
	}
}

func cutNames(cut map[string]bool) string {
	switch {
	case cut["text"] && cut["title"]:
		return "title and text"
	case cut["text"]:
		return "text"
	case cut["title"]:
		return "title"
	}
	return ""
}

// cutBy shortens s so that its encoding loses over bytes, or a little
// more, ending it with …; the characters are taken to encode alike.
func cutBy(s string, over int) string {
	size, n := encodedSize(s), utf8.RuneCountInString(s)
	// … and the characters cut at the edge: a margin of eight bytes.
	return cutTo(s, max(n*(size-over-8)/max(size, 1), 0))
}

// cutTo keeps keep characters of s, fewer than it has, then …, never
// after a lone backslash, which would show.
func cutTo(s string, keep int) string {
	kept := string([]rune(s)[:keep])
	if trailing := len(kept) - len(strings.TrimRight(kept, `\`)); trailing%2 == 1 {
		kept = kept[:len(kept)-1]
	}
	return kept + "…"
}

func encodedSize(v any) int {
	data, _ := json.Marshal(v)
	return len(data)
}

func (a *Action) noted(cut string) string {
	if cut == "" {
		return ""
	}
	return "action " + a.name + ": the card's " + cut + " cut to fit Teams' 28 KB message"
}

func facts(n *actions.Notification) []Fact {
	leaderless := "—"
	if n.Leaderless || n.LeaderlessFor > 0 {
		leaderless = actions.HumanDuration(n.LeaderlessFor)
	} else if n.LastOutage > 0 {
		leaderless = actions.HumanDuration(n.LastOutage) + " (ended)"
	}
	f := []Fact{
		{"Cluster", escape(n.Cluster)},
		{"Leader", escape(or(n.LeaderID, "none"))},
		{"Previous leader", escape(or(n.PreviousLeaderID, "—"))},
		{"Leaderless for", leaderless},
		{"Fired at", n.FiredAt.UTC().Format("2006-01-02 15:04:05 MST")},
	}
	if n.Status == actions.StatusResolved && n.Lasted > 0 {
		f = append(f, Fact{"Lasted", actions.HumanDuration(n.Lasted)})
	}
	return f
}

// markdown escapes what Adaptive Cards' Markdown reads as markup, so that
// an id cannot add a link or emphasis.
var markdown = strings.NewReplacer(`\`, `\\`, `*`, `\*`, `_`, `\_`, `[`, `\[`, `]`, `\]`, `(`, `\(`, `)`, `\)`,
	"`", "\\`", `~`, `\~`, `#`, `\#`, `>`, `\>`, `<`, `\<`)

// escape makes s literal text on one line.
func escape(s string) string { return markdown.Replace(event.Printable(s)) }

func or(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// Run posts the card once, bounded by ctx and by the action's timeout.
func (a *Action) Run(ctx context.Context, n *actions.Notification) (actions.Outcome, error) {
	msg, notes := a.Build(n)
	body, err := json.Marshal(msg)
	if err != nil {
		return actions.Outcome{}, actions.Permanent(fmt.Errorf("encode message: %w", err))
	}
	if dl, ok := ctx.Deadline(); a.timeout > 0 && (!ok || time.Until(dl) > a.timeout) {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, a.timeout)
		defer cancel()
	}
	out, err := webhook.PostJSON(ctx, a.client, a.cfg.WebhookURL, a.where, body, a.redact)
	return out.Noted(a.redact(notes)), err
}

func (a *Action) redact(s string) string { return a.secrets.Redact(s) }

// Where is the webhook URL, its signature hidden.
func (a *Action) Where() string { return a.where }

// Render shows the card a run would post.
func (a *Action) Render(n *actions.Notification) (actions.Rendering, error) {
	msg, notes := a.Build(n)
	body, err := json.Marshal(msg)
	if err != nil {
		return actions.Rendering{}, fmt.Errorf("encode message: %w", err)
	}
	r := webhook.JSONRendering(Name, a.where, body, a.redact)
	r.Notes = a.redact(notes)
	return r, nil
}
