// Package tlsfiles reads TLS certificates, keys and CAs from PEM files for
// the packages that take them from the config: a certificate is read again
// when its files change, so that a renewal needs no restart.
package tlsfiles

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"
)

// FileError is a problem with one file, at the config key naming it
// (cert_file, key_file or ca_file).
type FileError struct {
	Key string
	Err error
}

func (e *FileError) Error() string { return e.Key + ": " + e.Err.Error() }
func (e *FileError) Unwrap() error { return e.Err }

// LoadCAs reads a PEM file of CA certificates.
func LoadCAs(path string) (*x509.CertPool, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(data) {
		return nil, fmt.Errorf("%s holds no PEM certificate", path)
	}
	return pool, nil
}

// KeyPair is a certificate and its key. It is read again when one of its
// files changes, so that a renewed certificate is presented from the next
// handshake on, without a restart; a pair that does not load (files half
// written) leaves the last good one in use.
type KeyPair struct {
	certFile, keyFile string

	mu    sync.Mutex
	stamp string // of the files the certificate was read from
	cert  *tls.Certificate
}

// NewKeyPair reads the pair; an error is a *FileError.
func NewKeyPair(certFile, keyFile string) (*KeyPair, error) {
	p := &KeyPair{certFile: certFile, keyFile: keyFile}
	p.stamp = p.filesStamp()
	cert, err := LoadKeyPair(certFile, keyFile)
	if err != nil {
		return nil, err
	}
	p.cert = cert
	return p, nil
}

// Certificate is the pair as the files now hold it, or the last good one.
func (p *KeyPair) Certificate() *tls.Certificate {
	p.mu.Lock()
	defer p.mu.Unlock()
	if stamp := p.filesStamp(); stamp != p.stamp {
		if cert, err := LoadKeyPair(p.certFile, p.keyFile); err == nil {
			p.cert, p.stamp = cert, stamp
		}
	}
	return p.cert
}

// GetClientCertificate is for tls.Config.GetClientCertificate.
func (p *KeyPair) GetClientCertificate(*tls.CertificateRequestInfo) (*tls.Certificate, error) {
	return p.Certificate(), nil
}

// GetCertificate is for tls.Config.GetCertificate.
func (p *KeyPair) GetCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	return p.Certificate(), nil
}

// filesStamp changes when either file is replaced or written.
func (p *KeyPair) filesStamp() string {
	var b strings.Builder
	for _, name := range []string{p.certFile, p.keyFile} {
		if fi, err := os.Stat(name); err == nil {
			fmt.Fprintf(&b, "%d/%d;", fi.ModTime().UnixNano(), fi.Size())
		}
	}
	return b.String()
}

// LoadKeyPair reads a certificate and its key once; an error is a
// *FileError at the file at fault.
func LoadKeyPair(certFile, keyFile string) (*tls.Certificate, error) {
	certPEM, err := os.ReadFile(certFile)
	if err != nil {
		return nil, &FileError{"cert_file", err}
	}
	if err := hasCertificate(certPEM); err != nil {
		return nil, &FileError{"cert_file", fmt.Errorf("%s %w", certFile, err)}
	}
	keyPEM, err := os.ReadFile(keyFile)
	if err != nil {
		return nil, &FileError{"key_file", err}
	}
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return nil, &FileError{"key_file", fmt.Errorf("%s (for cert_file %s): %w", keyFile, certFile, err)}
	}
	return &cert, nil
}

// CAFile is a CA file at the config key naming it.
type CAFile struct{ Key, Path string }

// Check checks the TLS files of a config block as they will be loaded, so
// that a config with a missing or broken file is refused before it runs: a
// certificate and its key go together, and each file given loads. The
// errors are at the keys relative to the block: the missing half of the
// pair (which alone is reported), or each file that does not load.
func Check(certFile, keyFile string, cas ...CAFile) []*FileError {
	switch {
	case certFile != "" && keyFile == "":
		return []*FileError{{"key_file", errors.New("is required with cert_file: a certificate and its private key go together")}}
	case certFile == "" && keyFile != "":
		return []*FileError{{"cert_file", errors.New("is required with key_file: a certificate and its private key go together")}}
	}
	var errs []*FileError
	if certFile != "" {
		var fe *FileError
		if _, err := LoadKeyPair(certFile, keyFile); errors.As(err, &fe) {
			errs = append(errs, fe)
		}
	}
	for _, ca := range cas {
		if ca.Path == "" {
			continue
		}
		if _, err := LoadCAs(ca.Path); err != nil {
			errs = append(errs, &FileError{ca.Key, err})
		}
	}
	return errs
}

// hasCertificate checks the first certificate of a PEM file.
func hasCertificate(data []byte) error {
	for {
		var block *pem.Block
		if block, data = pem.Decode(data); block == nil {
			return errors.New("holds no PEM certificate")
		}
		if block.Type == "CERTIFICATE" {
			if _, err := x509.ParseCertificate(block.Bytes); err != nil {
				return fmt.Errorf("holds a certificate that does not parse: %w", err)
			}
			return nil
		}
	}
}

// Server is the TLS config of a server presenting the pair, which it reads
// again when renewed; with clientCAFile, it requires client certificates
// that CA signed (mutual TLS).
func Server(certFile, keyFile, clientCAFile string) (*tls.Config, error) {
	pair, err := NewKeyPair(certFile, keyFile)
	if err != nil {
		return nil, err
	}
	cfg := &tls.Config{MinVersion: tls.VersionTLS12, GetCertificate: pair.GetCertificate}
	if clientCAFile != "" {
		pool, err := LoadCAs(clientCAFile)
		if err != nil {
			return nil, &FileError{"client_ca_file", err}
		}
		cfg.ClientCAs, cfg.ClientAuth = pool, tls.RequireAndVerifyClientCert
	}
	return cfg, nil
}

// Client is the TLS config of a client trusting caFile's CAs (the
// system's when empty) and, with certFile, presenting that certificate,
// which it reads again when renewed.
func Client(caFile, certFile, keyFile string) (*tls.Config, error) {
	cfg := &tls.Config{MinVersion: tls.VersionTLS12}
	if caFile != "" {
		pool, err := LoadCAs(caFile)
		if err != nil {
			return nil, &FileError{"ca_file", err}
		}
		cfg.RootCAs = pool
	}
	if certFile != "" || keyFile != "" {
		pair, err := NewKeyPair(certFile, keyFile)
		if err != nil {
			return nil, err
		}
		cfg.GetClientCertificate = pair.GetClientCertificate
	}
	return cfg, nil
}

// HTTPClient is a client of an API with conf's TLS settings (nil: plain
// HTTP, or the system's CAs).
func HTTPClient(conf *tls.Config, timeout time.Duration) *http.Client {
	client := &http.Client{Timeout: timeout}
	if conf != nil {
		t := http.DefaultTransport.(*http.Transport).Clone()
		t.TLSClientConfig = conf
		client.Transport = t
	}
	return client
}
