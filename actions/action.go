package actions

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Action makes one attempt to deliver a notification. Retries, timeouts,
// logging and auditing are wrappers composed around it (see dispatch).
type Action interface {
	Run(ctx context.Context, n *Notification) (Outcome, error)
}

// Outcome describes one attempt, for the audit log.
type Outcome struct {
	HTTPStatus int // webhook, slack
	// HasExitCode says that the action runs a program, so the audit log
	// records ExitCode, -1 included (not started, or killed).
	HasExitCode bool
	ExitCode    int
	Output      string // shell: bounded stdout and stderr
	Detail      string // one line on what happened
}

// Rendering is what an action would send, shown by dry runs with secrets
// redacted.
type Rendering struct {
	Kind    string            `json:"kind"`
	Method  string            `json:"method,omitempty"`
	URL     string            `json:"url,omitempty"`
	Headers map[string]string `json:"headers,omitempty"`
	Body    string            `json:"body,omitempty"`
	Argv    []string          `json:"argv,omitempty"`
	Env     []string          `json:"env,omitempty"`
	Dir     string            `json:"dir,omitempty"`
	// Notes says which message templates failed on the notification and
	// what is sent instead (see RenderMessage).
	Notes string `json:"notes,omitempty"`
}

// Renderer is implemented by actions that can show what they would do.
type Renderer interface {
	Render(n *Notification) (Rendering, error)
}

// PermanentError marks a failure that retrying cannot fix: a 4xx answer,
// a script that says so, a template that fails.
type PermanentError struct{ Err error }

func (e *PermanentError) Error() string { return e.Err.Error() }
func (e *PermanentError) Unwrap() error { return e.Err }

// Permanent wraps err as not worth retrying.
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return &PermanentError{Err: err}
}

// IsPermanent reports whether err must not be retried.
func IsPermanent(err error) bool {
	var p *PermanentError
	return errors.As(err, &p)
}

// MaxRetryAfter bounds the wait a receiver's Retry-After can ask for. It
// wins over retry.max_backoff, since retrying sooner than asked only earns
// another 429, but a delivery waits in its queue with the deliveries behind
// it: a receiver must not hold a page for hours.
const MaxRetryAfter = 5 * time.Minute

// RetryAfterError asks the retrier to wait After before the next attempt
// (an HTTP 408, 425, 429 or 5xx with Retry-After), at most MaxRetryAfter.
type RetryAfterError struct {
	Err   error
	After time.Duration
}

func (e *RetryAfterError) Error() string {
	if e.After > MaxRetryAfter {
		return fmt.Sprintf("%v (retry after %s, capped at %s)", e.Err, e.After, MaxRetryAfter)
	}
	return fmt.Sprintf("%v (retry after %s)", e.Err, e.After)
}
func (e *RetryAfterError) Unwrap() error { return e.Err }

// RetryAfter returns how long err asks to wait, if it does, capped at
// MaxRetryAfter.
func RetryAfter(err error) (time.Duration, bool) {
	var r *RetryAfterError
	if errors.As(err, &r) {
		return min(max(r.After, 0), MaxRetryAfter), true
	}
	return 0, false
}
