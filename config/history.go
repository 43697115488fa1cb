package config

import (
	"time"

	"github.com/leaderhook/leaderhook/field"
)

// Defaults of the history kept for the web page's timeline.
const (
	DefaultHistoryMaxAge   = 7 * 24 * time.Hour
	DefaultHistoryMaxBytes = 50 << 20
)

// History bounds the history in state_dir: whichever bound is reached
// first drops the oldest part.
type History struct {
	MaxAge   *time.Duration `koanf:"max_age" json:"max_age,omitempty"`
	MaxBytes int            `koanf:"max_bytes" json:"max_bytes,omitempty"`
}

// Bounds returns max_age and max_bytes, or their defaults.
func (h History) Bounds() (time.Duration, int64) {
	age, size := DefaultHistoryMaxAge, int64(DefaultHistoryMaxBytes)
	if h.MaxAge != nil {
		age = *h.MaxAge
	}
	if h.MaxBytes > 0 {
		size = int64(h.MaxBytes)
	}
	return age, size
}

// checkHistory adds the errors of the history keys to errs.
func checkHistory(h History, errs *field.List) {
	if h.MaxAge != nil && *h.MaxAge <= 0 {
		errs.Add("history.max_age", "must be positive, e.g. 168h")
	}
	if h.MaxBytes < 0 {
		errs.Add("history.max_bytes", "must not be negative")
	}
}
