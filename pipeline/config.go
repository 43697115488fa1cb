package pipeline

import (
	"log/slog"

	"github.com/leaderhook/leaderhook/config"
	"github.com/leaderhook/leaderhook/rules"
)

// New builds the engine and cluster views a config describes. Member events
// that name no cluster go to fallback.
func New(cfg *config.Config, fallback string, sink Sink, log *slog.Logger) (*Driver, error) {
	engine, views, err := Engine(cfg, log)
	if err != nil {
		return nil, err
	}
	return NewDriver(engine, views, fallback, sink), nil
}

// Engine builds the rule engine and the cluster views of a config.
func Engine(cfg *config.Config, log *slog.Logger) (*rules.Engine, []ClusterView, error) {
	clusters := make([]rules.Cluster, 0, len(cfg.Clusters))
	views := make([]ClusterView, 0, len(cfg.Clusters))
	for _, c := range cfg.Clusters {
		clusters = append(clusters, rules.Cluster{Name: c.Name, Labels: c.Labels})
		views = append(views, ClusterView{Name: c.Name, Members: c.Members, Stabilize: c.StabilizePeriod(), SplitBrainAfter: c.SplitBrainPeriod(), Log: log})
	}
	engine, err := rules.New(rules.Options{
		Rules: cfg.Rules, Windows: cfg.Windows, Clusters: clusters,
		Location: cfg.Location(), Logger: log,
	})
	return engine, views, err
}
