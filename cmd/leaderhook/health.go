package main

import (
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/spf13/cobra"

	"github.com/leaderhook/leaderhook/config"
)

func healthCmd(e *env) *cobra.Command {
	var url, path string
	var timeout time.Duration
	var flagsTLS apiTLS
	cmd := &cobra.Command{
		Use:   "health [-c FILE | --url URL]",
		Short: "Ask a running daemon whether it is healthy (for container health checks)",
		Long: `GET the daemon's /healthz and exit 0 if it answers 200, 1 otherwise. Distroless
images have no curl: this is what the Dockerfile's HEALTHCHECK runs.

With -c, the address is the config's server.listen (LEADERHOOK_SERVER__LISTEN in the
environment wins, as it does for the daemon); a listen address on every interface is
asked on 127.0.0.1. With the config's server.tls, it is asked over https, trusting
server.tls.ca_file (or the system's CAs), and presenting server.tls.cert_file when
the API requires client certificates (client_ca_file). Only the server block is read:
a mistake elsewhere in the file, which the running daemon refused to reload, does not
make it unhealthy (leaderhook check reports it). --url names the URL instead;
--ca-file, --cert-file and --key-file then say how to trust an https one.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var server *config.Server
			if path != "" {
				var ok bool
				if server, ok = e.loadServer(path); !ok {
					return exitError{1}
				}
				if !cmd.Flags().Changed("url") {
					url = apiURL(server) + "/healthz"
				}
			}
			client, err := apiClient(server, flagsTLS, timeout)
			if err != nil {
				return err
			}
			return e.health(client, url)
		},
	}
	cmd.Flags().StringVarP(&path, "config", "c", "", "config file whose server.listen (and server.tls) to ask")
	cmd.Flags().StringVar(&url, "url", "http://"+config.DefaultListen+"/healthz", "the daemon's health URL")
	cmd.Flags().DurationVar(&timeout, "timeout", 3*time.Second, "give up after this long")
	flagsTLS.flags(cmd)
	return cmd
}

func (e *env) health(client *http.Client, url string) error {
	resp, err := client.Get(url)
	if err != nil {
		fmt.Fprintln(e.stderr, "unhealthy:", err)
		return exitError{1}
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1024))
	if resp.StatusCode != http.StatusOK {
		fmt.Fprintf(e.stderr, "unhealthy: %s %s\n", resp.Status, body)
		return exitError{1}
	}
	fmt.Fprint(e.stdout, string(body))
	return nil
}
