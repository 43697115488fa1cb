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

// A node that ran alone (fail-open) changed its memories by itself: the
// alerts it opened, the messages it posted. Once the group is back, it
// hands these changes to the group, each to be applied only where the
// group left the entry as it was when this node went alone: the group's
// own changes meanwhile (its message for the same episode, a resolve) are
// newer, and stay.

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

// changedAlone returns, as the group's entries, the changes this node made
// to its memories since image, the group's state when it went alone.
// Callers hold applyMu.
func (g *group) changedAlone(image []byte) []ha.Command {
	var img groupImage
	if err := json.Unmarshal(image, &img); err != nil {
		g.log.Error("what this node remembered alone cannot be handed to the group", "err", err)
		return nil
	}
	g.mu.Lock()
	names := memoryNames(g.targets)
	g.mu.Unlock()
	var cmds []ha.Command
	for _, name := range names {
		changes, err := g.memory(name).ChangesSince(img.Memories[name])
		if err != nil {
			g.log.Warn("what this node remembered alone cannot be handed to the group", "action", name, "err", err)
		}
		for _, c := range changes {
			cmds = append(cmds, ha.Command{Kind: ha.Memory, Memory: &c})
		}
	}
	return cmds
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
