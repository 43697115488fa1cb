package webhook

import (
	"bytes"
	"context"
	"errors"
	"net/http"

	"github.com/leaderhook/leaderhook/actions"
)

// PostJSON POSTs a JSON body to url once, with leaderhook's User-Agent,
// and classifies the answer as Exchange does: the one request of the kinds
// that send a service its own JSON (Slack, Teams, PagerDuty, Alertmanager).
// where names url in messages, safe to show.
func PostJSON(ctx context.Context, client *http.Client, url, where string, body []byte, redact func(string) string) (actions.Outcome, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		msg := "POST " + where + ": cannot build the request"
		return actions.Outcome{Detail: msg}, actions.Permanent(errors.New(msg))
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", UserAgent)
	return Exchange(client, req, where, redact)
}

// JSONRendering is what PostJSON of body to where would send, for dry runs,
// with redact applied to the body.
func JSONRendering(kind, where string, body []byte, redact func(string) string) actions.Rendering {
	return actions.Rendering{Kind: kind, Method: http.MethodPost, URL: where,
		Headers: map[string]string{"Content-Type": "application/json", "User-Agent": UserAgent},
		Body:    redact(string(body))}
}
