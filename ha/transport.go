package ha

import (
	"crypto/tls"
	"crypto/x509"
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
	l, err := tls.Listen("tcp", cfg.Bind, tlsConfig.listen)
	if err != nil {
		return nil, fmt.Errorf("ha.bind: %w", err)
	}
	stream := &tlsStream{Listener: l, config: tlsConfig.dial, advertise: advertise}
	return raft.NewNetworkTransport(stream, 3, 10*time.Second, logOutput), nil
}

// peerTLS is a node's TLS: one config to accept peers, one to dial them.
type peerTLS struct{ listen, dial *tls.Config }

// mutualTLS is the TLS of a node: it presents its certificate, read again
// when renewed, and accepts only peers whose certificates the CA signed,
// both ways. Dialing checks the peer's chain against the CA but not that
// its certificate names the address dialed: the listener never checked
// names either, so the CA alone says who is a node (see docs/ha.md).
func mutualTLS(c TLS) (peerTLS, error) {
	pair, err := tlsfiles.NewKeyPair(c.CertFile, c.KeyFile)
	var fe *tlsfiles.FileError
	switch {
	case errors.As(err, &fe):
		return peerTLS{}, fmt.Errorf("ha.tls.%s: %w", fe.Key, fe.Err)
	case err != nil:
		return peerTLS{}, fmt.Errorf("ha.tls: %w", err)
	}
	pool, err := tlsfiles.LoadCAs(c.CAFile)
	if err != nil {
		return peerTLS{}, fmt.Errorf("ha.tls.ca_file: %w", err)
	}
	listen := &tls.Config{GetCertificate: pair.GetCertificate, ClientCAs: pool,
		ClientAuth: tls.RequireAndVerifyClientCert, MinVersion: tls.VersionTLS13}
	// The chain is checked by verifySignedBy, without the host name check
	// that InsecureSkipVerify turns off.
	dial := &tls.Config{GetClientCertificate: pair.GetClientCertificate, InsecureSkipVerify: true,
		VerifyConnection: verifySignedBy(pool), MinVersion: tls.VersionTLS13}
	return peerTLS{listen: listen, dial: dial}, nil
}

// verifySignedBy accepts a peer whose certificate, for server use, the
// pool's CAs signed, whatever hosts it names.
func verifySignedBy(pool *x509.CertPool) func(tls.ConnectionState) error {
	return func(cs tls.ConnectionState) error {
		if len(cs.PeerCertificates) == 0 {
			return errors.New("ha.tls: the peer presented no certificate")
		}
		opts := x509.VerifyOptions{Roots: pool, Intermediates: x509.NewCertPool(),
			KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
		for _, c := range cs.PeerCertificates[1:] {
			opts.Intermediates.AddCert(c)
		}
		if _, err := cs.PeerCertificates[0].Verify(opts); err != nil {
			return fmt.Errorf("ha.tls: the peer's certificate: %w", err)
		}
		return nil
	}
}

// tlsStream is raft's stream layer over mutual TLS.
type tlsStream struct {
	net.Listener
	config    *tls.Config // to dial
	advertise net.Addr
}

func (s *tlsStream) Dial(addr raft.ServerAddress, timeout time.Duration) (net.Conn, error) {
	return tls.DialWithDialer(&net.Dialer{Timeout: timeout}, "tcp", string(addr), s.config)
}

func (s *tlsStream) Addr() net.Addr { return s.advertise }
