package main

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/leaderhook/leaderhook/config"
	"github.com/leaderhook/leaderhook/internal/tlsfiles"
)

// apiTLS is how a command trusts a daemon's HTTPS API when it is named by
// --url: the flags' files, instead of the config's server.tls.
type apiTLS struct {
	caFile, certFile, keyFile string
}

func (a *apiTLS) flags(cmd *cobra.Command) {
	cmd.Flags().StringVar(&a.caFile, "ca-file", "", "with an https --url: the CA that signed the API's certificate (PEM); default the system's CAs")
	cmd.Flags().StringVar(&a.certFile, "cert-file", "", "with an https --url whose API requires client certificates: the certificate to present (PEM)")
	cmd.Flags().StringVar(&a.keyFile, "key-file", "", "the private key of --cert-file (PEM)")
}

func (a apiTLS) set() bool { return a.caFile != "" || a.certFile != "" || a.keyFile != "" }

// apiClient is the HTTP client of a command that calls a daemon's API.
// Its TLS settings are the flags' when one is given, or else those of the
// config's server.tls (server may be nil: no -c).
func apiClient(server *config.Server, flags apiTLS, timeout time.Duration) (*http.Client, error) {
	var tlsConfig *tls.Config
	var err error
	switch {
	case flags.set():
		if (flags.certFile == "") != (flags.keyFile == "") {
			return nil, errors.New("--cert-file and --key-file go together")
		}
		tlsConfig, err = tlsfiles.Client(flags.caFile, flags.certFile, flags.keyFile)
	case server != nil:
		tlsConfig, err = server.TLS.Client()
	}
	if err != nil {
		return nil, tlsError(flags.set(), err)
	}
	return tlsfiles.HTTPClient(tlsConfig, timeout), nil
}

// tlsError names the flag, or the config key, whose file is at fault.
func tlsError(fromFlags bool, err error) error {
	var fe *tlsfiles.FileError
	if !errors.As(err, &fe) {
		return err
	}
	if fromFlags {
		return fmt.Errorf("--%s: %w", strings.ReplaceAll(fe.Key, "_", "-"), fe.Err)
	}
	return fmt.Errorf("server.tls.%s: %w", fe.Key, fe.Err)
}

// apiURL is the base URL of the API at server.listen, as a command on the
// same host calls it: on loopback when it listens on every interface,
// https with server.tls.
func apiURL(server *config.Server) string {
	listen := server.Listen
	host, port, err := net.SplitHostPort(listen)
	if err == nil && (host == "" || host == "0.0.0.0" || host == "::") {
		listen = net.JoinHostPort("127.0.0.1", port)
	}
	return server.TLS.Scheme() + "://" + listen
}
