package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/leaderhook/leaderhook/config"
)

// haTarget is the daemon a `leaderhook ha` or `expect` command asks, its
// token, and the client that asks it.
type haTarget struct {
	path, url, token string
	tls              apiTLS
	client           *http.Client
}

func (t *haTarget) flags(cmd *cobra.Command) {
	cmd.Flags().StringVarP(&t.path, "config", "c", "", "config file of a node: its server.listen, server.ingest_token and server.tls")
	cmd.Flags().StringVar(&t.url, "url", "http://"+config.DefaultListen, "a node's API")
	cmd.Flags().StringVar(&t.token, "token", "", "the API's bearer token (server.ingest_token), if -c is not given")
	t.tls.flags(cmd)
}

// resolve fills url, token and the client's TLS settings from the config,
// if one is named.
func (t *haTarget) resolve(e *env, cmd *cobra.Command) error {
	var server *config.Server
	if t.path != "" {
		var ok bool
		if server, ok = e.loadServer(t.path); !ok {
			return exitError{1}
		}
		if !cmd.Flags().Changed("url") {
			t.url = apiURL(server)
		}
		if t.token == "" {
			t.token = server.IngestToken
		}
	}
	t.url = strings.TrimSuffix(t.url, "/")
	client, err := apiClient(server, t.tls, 30*time.Second)
	t.client = client
	return err
}

func haCmd(e *env) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "ha",
		Short: "See and change the group of leaderhook nodes (the config's ha block)",
		Long: `A group of leaderhook nodes decides every firing once: the leader dispatches, the
others follow and take over within seconds when it is lost. See docs/ha.md.

  leaderhook ha status -c node.yaml            who leads, terms, indexes, peers
  leaderhook ha join lh4 10.0.0.4:7401 -c node.yaml    add a node (on the leader)
  leaderhook ha remove lh4 -c node.yaml        remove a node (on the leader)

join and remove may be sent to any node: they are passed to the leader.

With -c, the node is the config's server.listen, with its server.ingest_token; with its
server.tls, it is asked over https (as health -c does). --url names a node instead;
--ca-file, --cert-file and --key-file then say how to trust an https one.`,
	}
	cmd.AddCommand(haStatusCmd(e), haJoinCmd(e), haRemoveCmd(e))
	return cmd
}

func haStatusCmd(e *env) *cobra.Command {
	var t haTarget
	var format string
	cmd := &cobra.Command{
		Use:   "status [-c FILE | --url URL]",
		Short: "Print what a node knows of the group: role, leader, term, indexes, peers",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := checkTextOrJSON(format); err != nil {
				return err
			}
			if err := t.resolve(e, cmd); err != nil {
				return err
			}
			body, err := t.request(http.MethodGet, t.url+"/v1/ha", "", nil)
			if err != nil {
				return err
			}
			if format == "json" {
				_, err := e.stdout.Write(body)
				return err
			}
			return printHAStatus(e.stdout, body)
		},
	}
	t.flags(cmd)
	cmd.Flags().StringVar(&format, "format", "text", "text, for people, or json, for scripts")
	return cmd
}

// checkTextOrJSON refuses a --format of neither, before anything is asked
// of a daemon: a typo must not change it and then print another format.
func checkTextOrJSON(format string) error {
	if format != "text" && format != "json" {
		return fmt.Errorf("--format %q: want text or json", format)
	}
	return nil
}

func printHAStatus(w io.Writer, body []byte) error {
	var s struct {
		NodeID        string `json:"node_id"`
		Role          string `json:"role"`
		LeaderID      string `json:"leader_id"`
		Term          uint64 `json:"term"`
		AppliedIndex  uint64 `json:"applied_index"`
		CommitIndex   uint64 `json:"commit_index"`
		LastContactMS int64  `json:"last_contact_ms"`
		FailOpenAfter string `json:"fail_open_after"`
		Pending       int    `json:"pending_deliveries"`
		Peers         []struct {
			ID      string `json:"id"`
			Address string `json:"address"`
			Voter   bool   `json:"voter"`
		} `json:"peers"`
	}
	if err := json.Unmarshal(body, &s); err != nil {
		return fmt.Errorf("the node's answer: %w", err)
	}
	leader := s.LeaderID
	if leader == "" {
		leader = "none known (fail-open after " + s.FailOpenAfter + ")"
	}
	contact := "-"
	if s.LastContactMS >= 0 && s.Role != "leader" {
		contact = (time.Duration(s.LastContactMS) * time.Millisecond).String() + " ago"
	}
	fmt.Fprintf(w, "node %s: %s\nleader: %s (last contact %s)\nterm %d, applied index %d, commit index %d, pending deliveries %d\n",
		s.NodeID, s.Role, leader, contact, s.Term, s.AppliedIndex, s.CommitIndex, s.Pending)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "PEER\tADDRESS\tVOTER\tLEADER")
	for _, p := range s.Peers {
		fmt.Fprintf(tw, "%s\t%s\t%v\t%v\n", p.ID, p.Address, p.Voter, p.ID == s.LeaderID)
	}
	return tw.Flush()
}

func haJoinCmd(e *env) *cobra.Command {
	var t haTarget
	cmd := &cobra.Command{
		Use:   "join ID RAFT_ADDRESS [-c FILE | --url URL]",
		Short: "Add a node to the group; start it first with an ha block naming the group",
		Args:  cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			return t.change(e, cmd, "join", map[string]string{"id": args[0], "address": args[1]})
		},
	}
	t.flags(cmd)
	return cmd
}

func haRemoveCmd(e *env) *cobra.Command {
	var t haTarget
	cmd := &cobra.Command{
		Use:   "remove ID [-c FILE | --url URL]",
		Short: "Remove a node from the group (before you retire its host)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return t.change(e, cmd, "remove", map[string]string{"id": args[0]})
		},
	}
	t.flags(cmd)
	return cmd
}

// change asks the group's leader, found through the node named, to add
// or remove a node.
func (t *haTarget) change(e *env, cmd *cobra.Command, what string, body map[string]string) error {
	if err := t.resolve(e, cmd); err != nil {
		return err
	}
	status, err := t.request(http.MethodGet, t.url+"/v1/ha", "", nil)
	if err != nil {
		return err
	}
	var s struct {
		LeaderAPI string `json:"leader_api"`
	}
	if json.Unmarshal(status, &s) != nil || s.LeaderAPI == "" {
		return fmt.Errorf("%s knows no leader of the group now: try again once it has one", t.url)
	}
	data, _ := json.Marshal(body)
	if _, err := t.request(http.MethodPost, s.LeaderAPI+"/v1/ha/"+what, t.token, data); err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "%s %s: done by the leader at %s\n", what, body["id"], s.LeaderAPI)
	return nil
}

func (t *haTarget) request(method, url, token string, body []byte) ([]byte, error) {
	req, err := http.NewRequest(method, url, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := t.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("asking the node: %w", err)
	}
	defer resp.Body.Close()
	answer, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode/100 != 2 {
		return nil, fmt.Errorf("%s %s: %s: %s", method, url, resp.Status, bytes.TrimSpace(answer))
	}
	return answer, nil
}
