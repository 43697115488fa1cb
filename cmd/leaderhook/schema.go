package main

import (
	"encoding/json"

	"github.com/spf13/cobra"

	"github.com/leaderhook/leaderhook/config"
)

func schemaCmd(e *env) *cobra.Command {
	return &cobra.Command{
		Use:   "schema",
		Short: "Print the JSON Schema of the config file, for editors",
		Long: `Print a JSON Schema (2020-12) of the config file. With the YAML language server:

  leaderhook schema > leaderhook.schema.json
  # first line of rules.yaml:
  # yaml-language-server: $schema=./leaderhook.schema.json`,
		Args: cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			enc := json.NewEncoder(e.stdout)
			enc.SetIndent("", "  ")
			return enc.Encode(config.Schema())
		},
	}
}
