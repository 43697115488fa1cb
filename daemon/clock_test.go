package daemon

import (
	"testing"

	"github.com/leaderhook/leaderhook/actions"
	"github.com/leaderhook/leaderhook/dispatch"
	"github.com/leaderhook/leaderhook/rules"
)

func TestRaiseSeqFromTheJournal(t *testing.T) {
	pending := func(cluster string, seq uint64) dispatch.Delivery {
		return dispatch.Delivery{Notification: actions.Notification{Cluster: cluster, Seq: seq}}
	}
	cases := []struct {
		name    string
		saved   uint64
		pending []dispatch.Delivery
		want    uint64
	}{
		{"nothing pending", 4, nil, 4},
		{"a delivery decided after the last save", 4, []dispatch.Delivery{pending("c1", 3), pending("c1", 6)}, 6},
		{"older deliveries", 4, []dispatch.Delivery{pending("c1", 2)}, 4},
		{"another cluster's", 4, []dispatch.Delivery{pending("c2", 9)}, 4},
	}
	for _, tc := range cases {
		clusters := []rules.ClusterSnapshot{{Name: "c1", Seq: tc.saved}}
		raiseSeq(clusters, tc.pending)
		if clusters[0].Seq != tc.want {
			t.Errorf("%s: seq %d, want %d", tc.name, clusters[0].Seq, tc.want)
		}
	}
}
