// Package freeport finds loopback ports for child processes or in-process
// servers to listen on later.
package freeport

import (
	"fmt"
	"math/rand/v2"
	"net"
	"os"
)

// lowest is the lowest port handed out: below it are the ports services
// are usually configured on.
const lowest = 10000

// Addrs returns n distinct addresses on 127.0.0.1 that were free a moment
// ago. They are taken below the kernel's ephemeral range, so that no
// listen on port 0 and no outgoing connection takes one before it is
// listened on. All n are held until all are found: none is handed out
// twice.
func Addrs(n int) ([]string, error) {
	high := ephemeralStart()
	var addrs []string
	for tries := 0; len(addrs) < n; tries++ {
		if tries == 1000 {
			return nil, fmt.Errorf("no %d free ports on 127.0.0.1 in %d-%d", n, lowest, high-1)
		}
		l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", lowest+rand.IntN(high-lowest)))
		if err != nil {
			continue
		}
		defer l.Close()
		addrs = append(addrs, l.Addr().String())
	}
	return addrs, nil
}

// ephemeralStart is the first port the kernel hands out on its own.
func ephemeralStart() int {
	var first, last int
	b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range")
	if err == nil {
		_, err = fmt.Sscan(string(b), &first, &last)
	}
	if err != nil || first < lowest+2000 {
		return 32768 // Linux's default start
	}
	return first
}
