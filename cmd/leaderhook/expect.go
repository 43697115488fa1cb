package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"

	"github.com/spf13/cobra"

	"github.com/leaderhook/leaderhook/config"
)

func expectCmd(e *env) *cobra.Command {
	var t haTarget
	var forDur time.Duration
	var reason, format string
	var end bool
	cmd := &cobra.Command{
		Use:   "expect CLUSTER (--for DURATION [--reason TEXT] | --end) [-c FILE | --url URL]",
		Short: "Tell a running daemon that a cluster's leader changes are expected for a while",
		Long: `Declare a window of expected changes, such as a rolling upgrade: while it is open,
rules see expected == true (and expected_reason), so that they can send a change to chat
instead of the pager. It ends after --for, or at once with --end; a new window replaces
the open one. The daemon keeps it across restarts, shows it in /v1/state and writes
each window and each early end to its audit log.

  leaderhook expect ziti-prod --for 30m --reason "rolling upgrade" -c rules.yaml
  leaderhook expect ziti-prod --end -c rules.yaml

With -c, the daemon is the config's server.listen, and the token its
server.ingest_token; with its server.tls, it is asked over https (as health -c does).
--url names the API instead; --ca-file, --cert-file and --key-file then say how to
trust an https one. It is POST /v1/expect (DELETE /v1/expect?cluster=NAME with --end).`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if end == cmd.Flags().Changed("for") {
				return errors.New("give either --for DURATION (how long changes are expected) or --end")
			}
			if err := checkTextOrJSON(format); err != nil {
				return err
			}
			if err := t.resolve(e, cmd); err != nil {
				return err
			}
			answer, err := t.expect(args[0], forDur, reason, end)
			if err != nil {
				return err
			}
			if format == "json" {
				_, err := e.stdout.Write(answer)
				return err
			}
			return printExpect(e.stdout, answer)
		},
	}
	cmd.Flags().StringVarP(&t.path, "config", "c", "", "the daemon's config file: its server.listen, server.ingest_token and server.tls")
	cmd.Flags().StringVar(&t.url, "url", "http://"+config.DefaultListen, "the daemon's API")
	cmd.Flags().StringVar(&t.token, "token", "", "the API's bearer token (server.ingest_token), if -c is not given")
	t.tls.flags(cmd)
	cmd.Flags().DurationVar(&forDur, "for", 0, "how long changes are expected, e.g. 30m (at most 168h)")
	cmd.Flags().StringVar(&reason, "reason", "", "why, for the audit log, /v1/state and expected_reason")
	cmd.Flags().BoolVar(&end, "end", false, "end the cluster's window now")
	cmd.Flags().StringVar(&format, "format", "text", "text, for people, or json: the daemon's answer as it is")
	return cmd
}

// expect asks the daemon to open a window, or to end the open one.
func (t *haTarget) expect(cluster string, d time.Duration, reason string, end bool) ([]byte, error) {
	if end {
		return t.request(http.MethodDelete, t.url+"/v1/expect?cluster="+url.QueryEscape(cluster), t.token, nil)
	}
	body, _ := json.Marshal(map[string]string{"cluster": cluster, "for": d.String(), "reason": reason})
	return t.request(http.MethodPost, t.url+"/v1/expect", t.token, body)
}

// window is a window of expected changes as the daemon shows it.
type window struct {
	Since  time.Time `json:"since"`
	Until  time.Time `json:"until"`
	Reason string    `json:"reason"`
}

func (w *window) String() string {
	s := fmt.Sprintf("from %s until %s", w.Since.Format(time.RFC3339), w.Until.Format(time.RFC3339))
	if w.Reason != "" {
		s += fmt.Sprintf(" (%s)", w.Reason)
	}
	return s
}

func printExpect(w io.Writer, body []byte) error {
	var a struct {
		Cluster  string  `json:"cluster"`
		Expected *window `json:"expected"`
		Previous *window `json:"previous"`
	}
	if err := json.Unmarshal(body, &a); err != nil {
		return fmt.Errorf("the daemon's answer: %w", err)
	}
	switch {
	case a.Expected != nil:
		fmt.Fprintf(w, "%s: changes expected %s\n", a.Cluster, a.Expected)
		if a.Previous != nil {
			fmt.Fprintf(w, "  it replaces the window %s\n", a.Previous)
		}
	case a.Previous != nil:
		fmt.Fprintf(w, "%s: the window %s ended now\n", a.Cluster, a.Previous)
	default:
		fmt.Fprintf(w, "%s: no window of expected changes was open\n", a.Cluster)
	}
	return nil
}
