package daemon

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/leaderhook/leaderhook/actions"
	"github.com/leaderhook/leaderhook/dispatch"
	"github.com/leaderhook/leaderhook/store"
)

// A node that ran alone and joins a group leaves its journal
// (pending.log) to the group's log, which does not have what it held:
// its pending deliveries, each acknowledged by a 202, are not resumed.
// That must not go untold: the start warns of them, by id.
func TestGroupNodeTellsOfDeliveriesPendingFromAlone(t *testing.T) {
	h := groupOfThree(t, groupFileConfig, closedURL(t))[0]
	st, err := store.Open(filepath.Join(h.dir, "state"))
	if err != nil {
		t.Fatal(err)
	}
	del := dispatch.Delivery{ID: "msg_from_alone", Action: "hook", Notification: actions.Notification{
		Rule: "lost", Status: actions.StatusFiring, Cluster: "ziti", FiredAt: time.Now()}}
	if err := st.Pending(del); err != nil {
		t.Fatal(err)
	}
	st.Close()

	log := &bufferLog{}
	h.build(Options{Log: log.logger()}).Close()
	var warned string
	for _, line := range strings.Split(log.String(), "\n") {
		if strings.Contains(line, "level=WARN") && strings.Contains(line, "msg_from_alone") {
			warned = line
		}
	}
	if warned == "" {
		t.Errorf("no warning names the delivery pending from a run alone; log:\n%s", log.String())
	}
}
