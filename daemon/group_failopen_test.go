package daemon

import (
	"fmt"
	"testing"
)

// failOpenNode is the ha: block of node n1 of a group of two whose other
// node never runs: n1 has no leader, and soon decides and dispatches
// alone.
func failOpenNode(t *testing.T, dir string) string {
	addr := freeAddr(t)
	return fmt.Sprintf("ha:\n  node_id: n1\n  bind: %q\n  data_dir: %s/raft\n  fail_open_after: 100ms\n  peers:\n"+
		"    - {id: n1, address: %q}\n    - {id: n2, address: %q}\n", addr, dir, addr, freeAddr(t))
}
