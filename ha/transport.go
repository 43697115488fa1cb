package ha

import (
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"time"

	"github.com/hashicorp/raft"

	"github.com/leaderhook/leaderhook/internal/tlsfiles"
)

// transport opens the raft transport on cfg.Bind: plain TCP, or mutual TLS
// when cfg.TLS is set.
func transport(cfg Config, logOutput io.Writer) (*raft.NetworkTransport, error) {
	advertise, err := net.ResolveTCPAddr("tcp", cfg.AdvertiseAddr())
	if err != nil {
		return nil, fmt.Errorf("ha.advertise: %w", err)
	}
	if cfg.TLS.CertFile == "" {
		t, err := raft.NewTCPTransport(cfg.Bind, advertise, 3, 10*time.Second, logOutput)
		if err != nil {
			return nil, fmt.Errorf("ha.bind: %w", err)
		}
		return t, nil
	}
	tlsConfig, err := mutualTLS(cfg.TLS)
	if err != nil {
		return nil, err
	}
	l, err := tls.Listen("tcp", cfg.Bind, tlsConfig)
	if err != nil {
		return nil, fmt.Errorf("ha.bind: %w", err)
	}
	stream := &tlsStream{Listener: l, config: tlsConfig, advertise: advertise}
	return raft.NewNetworkTransport(stream, 3, 10*time.Second, logOutput), nil
}

// mutualTLS is the TLS config of a node: it presents its certificate and
// accepts only peers whose certificates the CA signed, both ways.
func mutualTLS(c TLS) (*tls.Config, error) {
	cert, err := tlsfiles.LoadKeyPair(c.CertFile, c.KeyFile)
	var fe *tlsfiles.FileError
	switch {
	case errors.As(err, &fe):
		return nil, fmt.Errorf("ha.tls.%s: %w", fe.Key, fe.Err)
	case err != nil:
		return nil, fmt.Errorf("ha.tls: %w", err)
	}
	pool, err := tlsfiles.LoadCAs(c.CAFile)
	if err != nil {
		return nil, fmt.Errorf("ha.tls.ca_file: %w", err)
	}
	return &tls.Config{Certificates: []tls.Certificate{*cert}, RootCAs: pool, ClientCAs: pool,
		ClientAuth: tls.RequireAndVerifyClientCert, MinVersion: tls.VersionTLS13}, nil
}

// tlsStream is raft's stream layer over mutual TLS.
type tlsStream struct {
	net.Listener
	config    *tls.Config
	advertise net.Addr
}

func (s *tlsStream) Dial(addr raft.ServerAddress, timeout time.Duration) (net.Conn, error) {
	return tls.DialWithDialer(&net.Dialer{Timeout: timeout}, "tcp", string(addr), s.config)
}

func (s *tlsStream) Addr() net.Addr { return s.advertise }
