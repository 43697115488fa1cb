package fakes

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"
)

// SlackMessage is a message the fake Slack holds.
type SlackMessage struct {
	Channel     string
	TS          string
	ThreadTS    string
	Text        string
	Attachments []map[string]any
	Edits       int // chat.update calls on it
}

// SlackAPI is Slack's Web API as a bot token sees it: chat.postMessage and
// chat.update, checked as Slack documents them. It answers HTTP 200 with
// {"ok": false, "error": ...} as Slack does: invalid_auth for another
// token, channel_not_found for a channel it does not know (chat.update
// takes IDs only), message_not_found for a ts it has not given, and
// ratelimited while RateLimit says so.
type SlackAPI struct {
	*httptest.Server
	Token    string
	Channels map[string]string // name → ID
	mu       sync.Mutex
	messages []*SlackMessage
	calls    []string
	limited  int
	status   int // of ratelimited answers: 200 or 429
	next     int64
}

// NewSlackAPI starts a fake Web API on 127.0.0.1 (base URL: URL + "/api")
// with one channel, #ops (C0OPS0001).
func NewSlackAPI() *SlackAPI {
	s := &SlackAPI{Token: "xoxb-1234-5678-abcdefghijklmnop", Channels: map[string]string{"ops": "C0OPS0001"}, next: 1767225600}
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	return s
}

// RateLimit answers the next n calls "ratelimited": with HTTP 200 and
// ok:false when status is 200, or HTTP 429 with Retry-After: 1.
func (s *SlackAPI) RateLimit(n, status int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.limited, s.status = n, status
}

// DeleteAll deletes every message, as a user who cleans up a channel does.
func (s *SlackAPI) DeleteAll() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.messages = nil
}

// Messages returns the messages posted so far, replies included.
func (s *SlackAPI) Messages() []SlackMessage {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]SlackMessage, len(s.messages))
	for i, m := range s.messages {
		out[i] = *m
	}
	return out
}

// Calls lists the methods called so far, with their answers' error codes:
// "chat.postMessage ok", "chat.update message_not_found".
func (s *SlackAPI) Calls() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.calls...)
}

type slackRequest struct {
	Channel     string           `json:"channel"`
	Text        string           `json:"text"`
	Attachments []map[string]any `json:"attachments"`
	Blocks      []map[string]any `json:"blocks"`
	TS          string           `json:"ts"`
	ThreadTS    string           `json:"thread_ts"`
	Username    string           `json:"username"`
	IconEmoji   string           `json:"icon_emoji"`
}

func (s *SlackAPI) serve(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	method := strings.TrimPrefix(r.URL.Path, "/api/")
	answer := s.answer(w, r, method)
	code := "ok"
	if answer["ok"] != true {
		code, _ = answer["error"].(string)
	}
	s.calls = append(s.calls, method+" "+code)
	if answer != nil {
		writeJSON(w, http.StatusOK, answer)
	}
}

// answer handles a call; nil when it answered already (429).
func (s *SlackAPI) answer(w http.ResponseWriter, r *http.Request, method string) map[string]any {
	fail := func(code string) map[string]any { return map[string]any{"ok": false, "error": code} }
	if r.Header.Get("Authorization") != "Bearer "+s.Token {
		return fail("invalid_auth")
	}
	if s.limited > 0 {
		s.limited--
		if s.status == http.StatusTooManyRequests {
			w.Header().Set("Retry-After", "1")
			w.WriteHeader(http.StatusTooManyRequests)
			s.calls = append(s.calls, method+" 429")
			return nil
		}
		return fail("ratelimited")
	}
	if !strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
		return fail("invalid_form_data")
	}
	var req slackRequest
	body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if json.Unmarshal(body, &req) != nil {
		return fail("invalid_json")
	}
	switch method {
	case "chat.postMessage":
		return s.post(&req)
	case "chat.update":
		return s.update(&req)
	}
	return fail("unknown_method")
}

var channelID = regexp.MustCompile(`^[CGD][A-Z0-9]{4,}$`)

// channel resolves a channel as chat.postMessage takes it: an ID, or a
// name with or without '#'.
func (s *SlackAPI) channel(c string, idOnly bool) (string, bool) {
	for _, id := range s.Channels {
		if c == id {
			return id, true
		}
	}
	if idOnly || channelID.MatchString(c) {
		return "", false
	}
	id, ok := s.Channels[strings.TrimPrefix(c, "#")]
	return id, ok
}

func (s *SlackAPI) post(req *slackRequest) map[string]any {
	if errs := checkSlackContent(req); errs != "" {
		return map[string]any{"ok": false, "error": errs}
	}
	id, ok := s.channel(req.Channel, false)
	if !ok {
		return map[string]any{"ok": false, "error": "channel_not_found"}
	}
	if req.ThreadTS != "" && s.find(id, req.ThreadTS) == nil {
		return map[string]any{"ok": false, "error": "thread_not_found"}
	}
	s.next++
	m := &SlackMessage{Channel: id, TS: strconv.FormatInt(s.next, 10) + ".000100", ThreadTS: req.ThreadTS, Text: req.Text, Attachments: req.Attachments}
	s.messages = append(s.messages, m)
	return map[string]any{"ok": true, "channel": id, "ts": m.TS, "message": map[string]any{"text": m.Text, "ts": m.TS, "attachments": m.Attachments}}
}

func (s *SlackAPI) update(req *slackRequest) map[string]any {
	if req.TS == "" {
		return map[string]any{"ok": false, "error": "invalid_arguments"}
	}
	id, ok := s.channel(req.Channel, true) // chat.update takes a channel ID
	if !ok {
		return map[string]any{"ok": false, "error": "channel_not_found"}
	}
	m := s.find(id, req.TS)
	if m == nil {
		return map[string]any{"ok": false, "error": "message_not_found"}
	}
	if errs := checkSlackContent(req); errs != "" {
		return map[string]any{"ok": false, "error": errs}
	}
	m.Text, m.Attachments = req.Text, req.Attachments
	m.Edits++
	return map[string]any{"ok": true, "channel": id, "ts": m.TS, "text": m.Text}
}

func (s *SlackAPI) find(channel, ts string) *SlackMessage {
	for _, m := range s.messages {
		if m.Channel == channel && m.TS == ts {
			return m
		}
	}
	return nil
}

// checkSlackContent checks a message's content: text or attachments or
// blocks, text within 40,000 characters, at most 100 attachments.
func checkSlackContent(req *slackRequest) string {
	switch {
	case req.Text == "" && len(req.Attachments) == 0 && len(req.Blocks) == 0:
		return "no_text"
	case utf8.RuneCountInString(req.Text) > 40000:
		return "msg_too_long"
	case len(req.Attachments) > 100:
		return "too_many_attachments"
	}
	for _, a := range req.Attachments {
		if _, ok := a["fallback"]; !ok && a["blocks"] == nil && a["text"] == nil {
			return "invalid_attachments"
		}
	}
	return ""
}
