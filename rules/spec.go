package rules

import "time"

// Rule is one rule as written in the config file (docs/configuration.md).
type Rule struct {
	Name        string        `koanf:"name" json:"name"`
	Description string        `koanf:"description" json:"description,omitempty"`
	When        string        `koanf:"when" json:"when"`
	For         time.Duration `koanf:"for" json:"for,omitempty"`
	Repeat      time.Duration `koanf:"repeat" json:"repeat,omitempty"`
	Cooldown    time.Duration `koanf:"cooldown" json:"cooldown,omitempty"`
	CooldownKey string        `koanf:"cooldown_key" json:"cooldown_key,omitempty"`
	Mute        []string      `koanf:"mute" json:"mute,omitempty"`
	Schedule    string        `koanf:"schedule" json:"schedule,omitempty"`
	FireOnStart bool          `koanf:"fire_on_start" json:"fire_on_start,omitempty"`
	Clusters    []string      `koanf:"clusters" json:"clusters,omitempty"`
	Actions     []string      `koanf:"actions" json:"actions,omitempty"`
	OnResolve   []string      `koanf:"on_resolve" json:"on_resolve,omitempty"`
	// Labels go on every notification of the rule, over the cluster's
	// labels (MergeLabels); expressions do not see them.
	Labels map[string]string `koanf:"labels" json:"labels,omitempty"`
	Verify *Verify           `koanf:"verify" json:"verify,omitempty"`
}

// Verify checks that a firing's actions did what they were for: once every
// action of the firing has been delivered, When must hold within Within
// (outcome Verified); if it does not, OnFailure run (VerifyFailed).
type Verify struct {
	When      string        `koanf:"when" json:"when"`
	Within    time.Duration `koanf:"within" json:"within"`
	OnFailure []string      `koanf:"on_failure" json:"on_failure,omitempty"`
}

// Window is a recurring mute window: it opens at each time of the cron
// Schedule and stays open for Duration.
type Window struct {
	Schedule string        `koanf:"schedule" json:"schedule"`
	Duration time.Duration `koanf:"duration" json:"duration"`
}
