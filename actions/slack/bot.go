package slack

// A Slack action with a bot token posts through the Web API, so that an
// incident is one message: the firing posts it (chat.postMessage), and
// the resolve edits it in place (chat.update) and replies in its thread.
// A firing of the same episode again (repeat) edits it too. The
// channel and ts of each episode's message are kept in the action's
// memory under state_dir, so that a resolve after a restart finds them.
//
// What this relies on, from Slack's Web API documentation: methods take a
// JSON body with the bot token as a Bearer Authorization; chat.postMessage
// takes channel (an ID or a name), text, attachments and thread_ts, and
// answers the message's channel ID and ts; chat.update takes the channel
// ID and the ts of the message it edits. Slack answers HTTP 200 with
// {"ok": false, "error": "..."} for failures, "ratelimited" among them
// (beside HTTP 429 with Retry-After); internal_error, fatal_error,
// service_unavailable and request_timeout are Slack's own trouble. Those
// are retried; other errors (channel_not_found, not_in_channel,
// invalid_auth...) are not.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/leaderhook/leaderhook/actions"
	"github.com/leaderhook/leaderhook/actions/webhook"
)

// transientErrors are the `error`s of an ok:false answer worth retrying.
var transientErrors = []string{"ratelimited", "internal_error", "fatal_error", "service_unavailable", "request_timeout"}

// bot is what an action with a token needs besides the message.
type bot struct {
	api    string          // the Web API's base URL
	memory *actions.Memory // posted messages, by episode
	now    func() time.Time
}

// posted is a message the action posted: where to edit it.
type posted struct {
	Channel string `json:"channel"`
	TS      string `json:"ts"`
}

// apiMessage is the body of chat.postMessage and chat.update.
type apiMessage struct {
	Message
	TS       string `json:"ts,omitempty"`
	ThreadTS string `json:"thread_ts,omitempty"`
}

// apiAnswer is what the Web API answers.
type apiAnswer struct {
	OK      bool   `json:"ok"`
	Error   string `json:"error"`
	Channel string `json:"channel"`
	TS      string `json:"ts"`
}

func (a *Action) setUpBot(name, stateDir string) error {
	if a.cfg.Channel == "" {
		return errors.New("channel is required with token")
	}
	a.where = strings.TrimRight(a.cfg.APIURL, "/")
	a.hide = strings.NewReplacer(a.cfg.Token, actions.Redacted)
	// A memory that cannot be read starts empty: a resolve then posts a
	// message of its own.
	memory, _ := actions.OpenMemory(stateDir, name)
	a.bot = &bot{api: a.where, memory: memory, now: time.Now}
	a.where = actions.Redact(a.where)
	return nil
}

// episodeKey names the message of a rule's episode on a cluster.
func episodeKey(n *actions.Notification) string {
	episode := n.Episode
	if episode.IsZero() {
		episode = n.FiredAt
	}
	return n.Cluster + "\x00" + n.Rule + "\x00" + episode.UTC().Format(time.RFC3339Nano)
}

// runBot posts a new message, or edits the episode's message and replies
// in its thread. The message is forgotten once the resolve is done.
func (a *Action) runBot(ctx context.Context, n *actions.Notification) (actions.Outcome, error) {
	msg, note := a.Build(n)
	out, err := a.sendBot(ctx, n, msg)
	return out.Noted(a.redact(note)), err
}

// sendBot posts or edits the episode's message.
func (a *Action) sendBot(ctx context.Context, n *actions.Notification, msg Message) (actions.Outcome, error) {
	if dl, ok := ctx.Deadline(); a.timeout > 0 && (!ok || time.Until(dl) > a.timeout) {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, a.timeout)
		defer cancel()
	}
	key := episodeKey(n)
	var prev posted
	if !a.bot.memory.Get(key, &prev) {
		return a.postNew(ctx, key, msg)
	}
	out, err := a.call(ctx, "chat.update", apiMessage{Message: withChannel(msg, prev.Channel), TS: prev.TS}, nil)
	if err != nil {
		var gone *apiError
		if errors.As(err, &gone) && (gone.code == "message_not_found" || gone.code == "cant_update_message") {
			return a.postNew(ctx, key, msg) // deleted meanwhile: start again
		}
		return out, err
	}
	reply := Message{Channel: prev.Channel, Username: msg.Username, IconEmoji: msg.IconEmoji, Text: msg.Text}
	if out, err = a.call(ctx, "chat.postMessage", apiMessage{Message: reply, ThreadTS: prev.TS}, nil); err != nil {
		return out, err
	}
	if n.Status == actions.StatusResolved {
		_ = a.bot.memory.Delete(key) // not forgotten: it ages out of the memory
	}
	return out, nil
}

func withChannel(m Message, channel string) Message {
	m.Channel = channel
	return m
}

// postNew posts the episode's message and remembers where it is.
func (a *Action) postNew(ctx context.Context, key string, msg Message) (actions.Outcome, error) {
	var ans apiAnswer
	out, err := a.call(ctx, "chat.postMessage", apiMessage{Message: msg}, &ans)
	if err != nil {
		return out, err
	}
	if ans.TS != "" && ans.Channel != "" {
		// Not kept (a full disk): the resolve posts a message of its own.
		_ = a.bot.memory.Put(key, posted{Channel: ans.Channel, TS: ans.TS}, a.bot.now())
	}
	return out, nil
}

// apiError is an ok:false answer.
type apiError struct {
	method, code string
}

func (e *apiError) Error() string { return e.method + ": Slack answered ok=false: " + e.code }

// call makes one Web API call; ans, when not nil, receives the answer.
func (a *Action) call(ctx context.Context, method string, body apiMessage, ans *apiAnswer) (actions.Outcome, error) {
	data, err := json.Marshal(body)
	if err != nil {
		return actions.Outcome{}, actions.Permanent(fmt.Errorf("%s: %w", method, err))
	}
	where := a.where + "/" + method
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, a.bot.api+"/"+method, bytes.NewReader(data))
	if err != nil {
		return actions.Outcome{Detail: "POST " + where + ": cannot build the request"}, actions.Permanent(errors.New("POST " + where + ": cannot build the request"))
	}
	req.Header.Set("Content-Type", "application/json; charset=utf-8")
	req.Header.Set("Authorization", "Bearer "+a.cfg.Token)
	req.Header.Set("User-Agent", webhook.UserAgent)
	out, raw, err := webhook.ExchangeBody(a.client, req, where, a.redact)
	if err != nil {
		return out, err
	}
	var got apiAnswer
	if err := json.Unmarshal(raw, &got); err != nil {
		return out, actions.Permanent(fmt.Errorf("POST %s: not a Web API answer: %w", where, err))
	}
	if ans != nil {
		*ans = got
	}
	return classifyAnswer(out, method, got)
}

// classifyAnswer turns an ok:false answer into a retryable or a permanent
// error, its code in the audit detail.
func classifyAnswer(out actions.Outcome, method string, got apiAnswer) (actions.Outcome, error) {
	if got.OK {
		return out, nil
	}
	code := got.Error
	if code == "" {
		code = "no error named"
	}
	err := &apiError{method: method, code: code}
	out.Detail = err.Error()
	if slices.Contains(transientErrors, code) {
		return out, err
	}
	return out, actions.Permanent(err)
}

// renderBot shows the first call a run would make.
func (a *Action) renderBot(n *actions.Notification) (actions.Rendering, error) {
	msg, note := a.Build(n)
	method, body := "chat.postMessage", apiMessage{Message: msg}
	var prev posted
	if a.bot.memory.Get(episodeKey(n), &prev) {
		method, body = "chat.update", apiMessage{Message: withChannel(msg, prev.Channel), TS: prev.TS}
	}
	data, err := json.Marshal(body)
	if err != nil {
		return actions.Rendering{}, err
	}
	return actions.Rendering{Kind: Name, Method: http.MethodPost, URL: a.where + "/" + method,
		Headers: map[string]string{"Content-Type": "application/json; charset=utf-8", "Authorization": "Bearer " + actions.Redacted, "User-Agent": webhook.UserAgent},
		Body:    a.redact(string(data)), Notes: a.redact(note)}, nil
}
