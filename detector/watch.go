package detector

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"net/url"
	"syscall"
	"time"
)

// Dialer opens the connections a PollSource holds to its members.
type Dialer interface {
	DialContext(ctx context.Context, network, address string) (net.Conn, error)
}

var defaultDialer Dialer = &net.Dialer{Timeout: 2 * time.Second, KeepAlive: 15 * time.Second}

// watch holds a connection open to a member until ctx ends. A member's
// process that dies closes it at once (the kernel does); a new connection
// that is then refused is the evidence that the member is down, seconds
// before a poll would time out. A member that closes idle connections
// (nothing is ever sent on this one) is simply dialled again.
func (c *polledCluster) watch(ctx context.Context, m *polledMember) {
	addr, tlsConfig, err := c.watchTarget(m.url)
	if err != nil {
		c.log.Warn("not watching the member's connection; polls only", "cluster", c.name, "member", m.shown, "err", err)
		return
	}
	for ctx.Err() == nil {
		conn, err := c.dialer.DialContext(ctx, "tcp", addr)
		if err != nil {
			if refused(err) {
				c.down(ctx, m, c.now(), err)
			}
			pause(ctx, c.interval) // the polls carry on meanwhile
			continue
		}
		opened := time.Now()
		if tlsConfig != nil {
			conn = tls.Client(conn, tlsConfig) // the handshake comes with the first read
		}
		waitClosed(ctx, conn)
		if time.Since(opened) < time.Second {
			pause(ctx, time.Second) // a member that closes idle connections at once is not hammered
		}
	}
}

// watchTarget is the address to hold a connection to, and the TLS
// settings of an https member (those of the polls).
func (c *polledCluster) watchTarget(member string) (string, *tls.Config, error) {
	u, err := url.Parse(member)
	if err != nil {
		return "", nil, err
	}
	port := u.Port()
	if port == "" {
		port = map[string]string{"http": "80", "https": "443"}[u.Scheme]
	}
	addr := net.JoinHostPort(u.Hostname(), port)
	if u.Scheme != "https" {
		return addr, nil, nil
	}
	cfg := &tls.Config{MinVersion: tls.VersionTLS12}
	if c.tls != nil {
		cfg = c.tls.Clone()
	}
	if cfg.ServerName == "" {
		cfg.ServerName = u.Hostname()
	}
	return addr, cfg, nil
}

// waitClosed returns once conn is closed by the other side, breaks, or
// ctx ends; then it closes it.
func waitClosed(ctx context.Context, conn net.Conn) {
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	var b [1]byte
	conn.Read(b[:]) // nothing is ever sent: any return is the end
	conn.Close()
}

func pause(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}

// refused reports whether err says that nothing listens at the address.
func refused(err error) bool { return errors.Is(err, syscall.ECONNREFUSED) }

// reset reports whether err says that a kept connection broke under a
// request: the member may have closed it, or died; a new one tells which.
func reset(err error) bool {
	return errors.Is(err, syscall.ECONNRESET) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF)
}
