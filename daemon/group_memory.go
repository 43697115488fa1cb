package daemon

import (
	"encoding/json"
	"maps"
	"slices"

	"github.com/leaderhook/leaderhook/actions"
	"github.com/leaderhook/leaderhook/dispatch"
	"github.com/leaderhook/leaderhook/ha"
)

// What actions remember (actions.Memory) is replicated like a decision:
// the node that leads changes it through the group, every node applies the
// change, and a snapshot carries it. So a new leader goes on refreshing the
// alerts its predecessor opened, and never refreshes one the group has
// since resolved. So is what the dispatcher remembers of the fallbacks a
// firing ran (dispatch.FallbackMemory): a new leader sends them the
// resolve.

// replicateMemories routes the memory changes of targets' actions, and the
// dispatcher's, through the group.
func (g *group) replicateMemories(targets map[string]dispatch.Target) {
	for _, name := range memoryNames(targets) {
		if m := g.memory(name); m != nil {
			m.Replicate(g.publishMemory)
		}
	}
}

// memoryNames are the memories a group keeps: targets' and the
// dispatcher's, in order.
func memoryNames(targets map[string]dispatch.Target) []string {
	return append(slices.Sorted(maps.Keys(targets)), dispatch.FallbackMemory)
}

// memory is the memory of an action, shared with the action itself.
func (g *group) memory(action string) *actions.Memory {
	m, err := actions.OpenMemory(g.d.stateDir, action)
	if err != nil {
		g.log.Warn("action memory", "action", action, "err", err)
	}
	return m
}

func (g *group) publishMemory(c actions.MemoryChange) error {
	return g.decide(ha.Command{Kind: ha.Memory, Memory: &c})
}

func (g *group) applyMemory(c actions.MemoryChange) {
	if err := g.memory(c.Action).Apply(c); err != nil {
		g.log.Warn("cannot keep an action's memory", "action", c.Action, "err", err)
	}
}

// memoryImages are the memories of the configured actions and the
// dispatcher's, for a snapshot. Callers hold mu.
func (g *group) memoryImages() map[string]json.RawMessage {
	images := map[string]json.RawMessage{}
	for _, name := range memoryNames(g.targets) {
		if image := g.memory(name).Image(); image != nil {
			images[name] = image
		}
	}
	return images
}

// restoreMemories makes the configured actions' memories, and the
// dispatcher's, what a snapshot says. Callers hold mu.
func (g *group) restoreMemories(images map[string]json.RawMessage) {
	for _, name := range memoryNames(g.targets) {
		if err := g.memory(name).Restore(images[name]); err != nil {
			g.log.Warn("cannot restore an action's memory", "action", name, "err", err)
		}
	}
}
