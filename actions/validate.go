package actions

import (
	"net/url"

	"github.com/leaderhook/leaderhook/field"
)

// Validate checks one action definition. Paths are relative to the entry.
func (s *Spec) Validate() field.List {
	var errs field.List
	switch s.Type {
	case KindWebhook:
		checkURL(&errs, "url", s.URL)
	case KindSlack:
		checkURL(&errs, "webhook_url", s.WebhookURL)
	case KindShell:
		if len(s.Command) == 0 {
			errs.Add("command", "is required: the program and its arguments, e.g. [/usr/local/bin/failover.sh, \"{{ .Cluster }}\"]")
		}
	case "":
		errs.Add("type", "is required: webhook, shell or slack")
	default:
		errs.Add("type", "unknown action type %q: webhook, shell or slack", s.Type)
	}
	return errs
}

func checkURL(errs *field.List, key, raw string) {
	if raw == "" {
		errs.Add(key, "is required")
		return
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		errs.Add(key, "is not an http(s) URL")
	}
}
