package daemon

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/leaderhook/leaderhook/api"
	"github.com/leaderhook/leaderhook/dispatch"
	"github.com/leaderhook/leaderhook/event"
)

// ingest takes members' events over HTTP. Its contract: nil (a 202) means
// the events were decided and every delivery they caused is in the
// journal, so that kill -9 right after the answer loses nothing. While one
// of the cluster's action queues is full it takes nothing and returns
// api.ErrBusy (a 503 with Retry-After): the sender keeps the events and
// sends them again. Events taken already (the same batch sent again after
// an answer was lost) are left out: decided again, a loss would page twice.
func (d *Daemon) ingest(ctx context.Context, cluster string, evs []event.Event) error {
	if d.group != nil {
		return d.group.ingest(ctx, cluster, evs)
	}
	if err := d.store.CrashSafe(); err != nil {
		return fmt.Errorf("%w: the delivery journal cannot be written (%v), so nothing can be acknowledged now", api.ErrBusy, err)
	}
	var busy, failed error
	err := d.call(func() {
		// Checked with the driver held: requests at once cannot all pass.
		if d.disp != nil && d.disp.Full(cluster) {
			busy = fmt.Errorf("%w: the deliveries of cluster %s are backed up", api.ErrBusy, cluster)
			return
		}
		d.decision.collect()
		d.driver.Take(d.ingested.fresh(evs)...)
		failed = d.decision.take()
	})
	if err != nil {
		return fmt.Errorf("%w: shutting down", api.ErrBusy)
	}
	if busy != nil {
		return busy
	}
	if failed != nil {
		return fmt.Errorf("%w: the events were decided and their deliveries are being made, but one is not safe from a crash (%v); sending the events again is safe: they are not decided twice", api.ErrBusy, failed)
	}
	return nil
}

// decisions handles, with the driver held, what went wrong handing
// deliveries to the dispatcher: it is logged, and kept for the answer
// while an ingest request decides (collect, then take).
type decisions struct {
	log          *slog.Logger
	notJournaled func() // counts a delivery that could not be journaled
	collecting   bool
	err          error
}

func (c *decisions) failed(err error) {
	c.log.Error("delivery not journaled or not queued", "err", err)
	if errors.Is(err, dispatch.ErrNotJournaled) {
		c.notJournaled()
	}
	if c.collecting {
		c.err = errors.Join(c.err, err)
	}
}

func (c *decisions) collect() { c.collecting, c.err = true, nil }

func (c *decisions) take() error {
	err := c.err
	c.collecting, c.err = false, nil
	return err
}
