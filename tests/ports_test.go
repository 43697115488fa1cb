package tests

import (
	"testing"

	"github.com/leaderhook/leaderhook/internal/freeport"
)

func freePort(t *testing.T) string {
	return freePorts(t, 1)[0]
}

// freePorts returns n distinct free addresses for child processes to
// listen on.
func freePorts(t *testing.T, n int) []string {
	t.Helper()
	addrs, err := freeport.Addrs(n)
	if err != nil {
		t.Fatal(err)
	}
	return addrs
}
