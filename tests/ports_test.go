package tests

import (
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"testing"
)

func freePort(t *testing.T) string {
	return freePorts(t, 1)[0]
}

// freePorts returns n distinct free addresses for child processes to
// listen on. They are taken below the kernel's ephemeral range, so no
// listen on port 0 and no outgoing connection can take one between this
// check and the child's listen. All n are held until all are found.
func freePorts(t *testing.T, n int) []string {
	t.Helper()
	low, high := 10000, ephemeralStart()
	var addrs []string
	for tries := 0; len(addrs) < n; tries++ {
		if tries == 1000 {
			t.Fatalf("no %d free ports in %d-%d", n, low, high-1)
		}
		l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", low+rand.IntN(high-low)))
		if err != nil {
			continue
		}
		defer l.Close()
		addrs = append(addrs, l.Addr().String())
	}
	return addrs
}

// ephemeralStart is the first port the kernel hands out on its own.
func ephemeralStart() int {
	var first, last int
	b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range")
	if err == nil {
		_, err = fmt.Sscan(string(b), &first, &last)
	}
	if err != nil || first < 12000 {
		return 32768
	}
	return first
}
