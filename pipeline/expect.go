package pipeline

import (
	"errors"
	"fmt"
	"time"

	"github.com/leaderhook/leaderhook/rules"
)

// Expect opens a window of expected changes for a cluster at `at`, or ends
// the open one when x.Until is not after it, as an input like an event:
// time first advances to at (a time behind the driver's clock is taken as
// now), then the engine decides on the window.
func (d *Driver) Expect(cluster string, x rules.Expectation, at time.Time) error {
	if d.views[cluster] == nil {
		return fmt.Errorf("%w %q", ErrUnknownCluster, cluster)
	}
	if at.Before(d.now) {
		at = d.now
	}
	d.AdvanceTo(at)
	for _, o := range d.engine.Expect(cluster, x, d.now, nil) {
		d.sink.Outcome(o)
	}
	d.changed()
	return nil
}

// Expected returns the window of expected changes of a cluster open at now.
func (d *Driver) Expected(cluster string, now time.Time) (rules.Expectation, bool) {
	return d.engine.Expected(cluster, now)
}

// ErrUnknownCluster: the cluster is not in the config.
var ErrUnknownCluster = errors.New("unknown cluster")
