package webhook

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/leaderhook/leaderhook/actions"
)

// MaxDetail bounds Outcome.Detail, in bytes.
const MaxDetail = 512

// readLimit is how much of an answer is read before redaction and
// truncation to MaxDetail, so that a secret cut at the limit is still
// recognised.
const readLimit = 4 << 10

// Exchange sends req once and classifies what happens, for webhook and
// Slack actions alike:
//
//   - a 2xx answer: nil;
//   - 408, 425, 429 or 5xx: a retryable error, an *actions.RetryAfterError when the
//     answer has a Retry-After header (seconds or an HTTP date);
//   - any other answer (3xx, since redirects are not followed, and 4xx):
//     a permanent error;
//   - no answer (refused, reset, timed out): a retryable error;
//   - a certificate that does not verify: a permanent error.
//
// where names the endpoint in messages and must already be safe to show;
// redact is applied to every message and to Outcome.Detail, which holds at
// most MaxDetail bytes of the answer's body (or the error).
func Exchange(client *http.Client, req *http.Request, where string, redact func(string) string) (actions.Outcome, error) {
	out, _, err := ExchangeBody(client, req, where, redact)
	return out, err
}

// ExchangeBody is Exchange that also returns the answer's body, up to
// 64 KiB and not redacted, for an API whose answer says more than its
// status (Slack's Web API).
func ExchangeBody(client *http.Client, req *http.Request, where string, redact func(string) string) (actions.Outcome, []byte, error) {
	resp, err := client.Do(req)
	if err != nil {
		// *url.Error repeats the URL; keep only its cause.
		cause := err
		var ue *url.Error
		if errors.As(err, &ue) {
			cause = ue.Err
		}
		what := "no answer"
		if ue != nil && ue.Timeout() || errors.Is(err, context.DeadlineExceeded) {
			what = "timed out"
		}
		unverified := certificateUnverified(err)
		if unverified {
			what = "the receiver's certificate does not verify"
		}
		msg := redact(fmt.Sprintf("%s %s: %s: %v", req.Method, where, what, cause))
		var failed error = &attemptError{msg: msg, cause: cause}
		if unverified && !certificateOutOfValidity(err) {
			failed = actions.Permanent(failed)
		}
		return actions.Outcome{Detail: truncate(msg, MaxDetail)}, nil, failed
	}
	defer resp.Body.Close()
	var raw []byte
	if resp.ContentLength != 0 { // most receivers answer 200 or 204 with nothing
		raw, _ = io.ReadAll(io.LimitReader(resp.Body, 64<<10))
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10)) // so the connection is reused
	}
	body := redact(string(raw[:min(len(raw), readLimit)]))
	out := actions.Outcome{HTTPStatus: resp.StatusCode, Detail: truncate(body, MaxDetail)}
	return out, raw, classify(req.Method, where, resp, body, redact, time.Now())
}

// classify turns an answer into nil, a retryable error, a RetryAfterError or
// a permanent error.
func classify(method, where string, resp *http.Response, body string, redact func(string) string, now time.Time) error {
	code := resp.StatusCode
	if code >= 200 && code < 300 {
		return nil
	}
	msg := fmt.Sprintf("%s %s: answered %s", method, where, resp.Status)
	if code >= 300 && code < 400 {
		msg += " (redirects are not followed: configure the final URL)"
	}
	if line := firstLine(body, 200); line != "" {
		msg += ": " + line
	}
	err := &attemptError{msg: redact(msg)}
	if transient(code) {
		if after, ok := ParseRetryAfter(resp.Header.Get("Retry-After"), now); ok {
			return &actions.RetryAfterError{Err: err, After: after}
		}
		return err
	}
	return actions.Permanent(err)
}

// certificateUnverified reports whether err is a certificate that does
// not verify (an unknown CA, another host's, expired): but for one out of
// its validity (see certificateOutOfValidity), every attempt would meet it
// until someone changes the receiver or the config.
func certificateUnverified(err error) bool {
	var (
		verification *tls.CertificateVerificationError
		authority    x509.UnknownAuthorityError
		hostname     x509.HostnameError
		invalid      x509.CertificateInvalidError
	)
	return errors.As(err, &verification) || errors.As(err, &authority) ||
		errors.As(err, &hostname) || errors.As(err, &invalid)
}

// certificateOutOfValidity reports whether err is a certificate that has
// expired or is not yet valid: it may verify later, once the receiver
// renews it or once this machine's clock is set (before NTP syncs it).
func certificateOutOfValidity(err error) bool {
	var invalid x509.CertificateInvalidError
	return errors.As(err, &invalid) && invalid.Reason == x509.Expired
}

// transient tells the answers a later attempt may change: 408 (the
// request was too slow), 425 (too early), 429 (too many) and 5xx.
func transient(code int) bool {
	switch code {
	case http.StatusRequestTimeout, http.StatusTooEarly, http.StatusTooManyRequests:
		return true
	}
	return code >= 500 && code < 600
}

// attemptError is a failed attempt. Its message is already redacted; its
// cause (a network or context error) never holds the URL.
type attemptError struct {
	msg   string
	cause error
}

func (e *attemptError) Error() string { return e.msg }
func (e *attemptError) Unwrap() error { return e.cause }

// ParseRetryAfter reads a Retry-After header: delay seconds, or an HTTP
// date (a date in the past means now). A delay past a day reads as a day
// (it cannot overflow); actions.RetryAfter caps the wait far below that.
func ParseRetryAfter(v string, now time.Time) (time.Duration, bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	if s, err := strconv.ParseUint(v, 10, 64); err == nil || errors.Is(err, strconv.ErrRange) {
		const day = uint64(24 * time.Hour / time.Second)
		return time.Duration(min(s, day)) * time.Second, true
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(t.Sub(now), 0), true
	}
	return 0, false
}

// truncate cuts s to at most n bytes of valid UTF-8.
func truncate(s string, n int) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	if len(s) <= n {
		return s
	}
	cut := n
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut]
}

// firstLine is the first non-empty line of s, at most n bytes, for error
// messages ("no_service", "invalid_token").
func firstLine(s string, n int) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexAny(s, "\r\n"); i >= 0 {
		s = strings.TrimSpace(s[:i])
	}
	s = strings.Map(func(r rune) rune {
		if r < ' ' || r == 0x7f {
			return ' '
		}
		return r
	}, s)
	if len(s) > n {
		return truncate(s, n-len("…")) + "…"
	}
	return s
}
