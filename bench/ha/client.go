package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// eventAt is one member's report in OpenZiti's format, stamped at; leader
// is empty for a report that the cluster has no leader.
func eventAt(member, typ, leader string, at time.Time) string {
	extra := ""
	if leader != "" {
		extra = fmt.Sprintf(`,"leaderId":%q`, leader)
	}
	return fmt.Sprintf(`{"namespace":"cluster","event_src_id":%q,"timestamp":%q,"eventType":%q%s}`,
		member, at.UTC().Format(time.RFC3339Nano), typ, extra)
}

// eventsURL is where a node takes a cluster's events.
func eventsURL(n *node, cluster string) string { return n.api + "/v1/events?cluster=" + cluster }

// postOnce sends body and returns the answer's status and, for a 503,
// the wait its Retry-After asks (at most maxRetryWait).
func postOnce(ctx context.Context, client *http.Client, url, body string) (int, time.Duration, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, strings.NewReader(body))
	if err != nil {
		return 0, 0, fmt.Errorf("POST %s: %w", url, err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		return 0, 0, fmt.Errorf("POST %s: %w", url, err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode, retryAfter(resp.Header.Get("Retry-After")), nil
}

// maxRetryWait caps the wait a Retry-After asks of a sender.
const maxRetryWait = time.Second

func retryAfter(header string) time.Duration {
	wait := maxRetryWait
	if secs, err := strconv.Atoi(header); err == nil {
		wait = time.Duration(secs) * time.Second
	}
	return max(0, min(wait, maxRetryWait))
}

// post sends body until it is accepted (202), as a client should: told
// 503, it waits what Retry-After asks and sends it again. It returns the
// refusals, and an error for any other answer or after within.
func post(ctx context.Context, client *http.Client, url, body string, within time.Duration) (int, error) {
	deadline := time.Now().Add(within)
	for refusals := 0; ; refusals++ {
		code, wait, err := postOnce(ctx, client, url, body)
		switch {
		case err != nil:
			return refusals, err
		case code == http.StatusAccepted:
			return refusals, nil
		case code != http.StatusServiceUnavailable:
			return refusals, fmt.Errorf("POST %s: answered %d", url, code)
		case time.Now().Add(wait).After(deadline):
			return refusals, fmt.Errorf("POST %s: still refused after %s", url, within)
		}
		if err := pause(ctx, wait); err != nil {
			return refusals, err
		}
	}
}
