package actions

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"time"

	"github.com/leaderhook/leaderhook/internal/atomicfile"
)

// Memory is what an action remembers between deliveries and across
// restarts: the alerts an alertmanager action keeps open, the Slack
// messages a resolve edits. It holds JSON values by key, in
// <state_dir>/actions/<action>.json, written whole (a temporary file, then
// a rename) at every change, so that a crash leaves the old file or the
// new one. The actions that a reload builds anew for the same name share
// the Memory of those they replace. Without a state_dir it is kept in
// memory only.
//
// In a group of nodes (ha:) the action runs on the node that leads, and
// what it remembers must survive a change of leader: Replicate hands every
// change to the group, which applies it on each node (Apply).
type Memory struct {
	mu      sync.Mutex
	action  string
	path    string // "" in memory only
	entries map[string]memoryEntry
	publish func(MemoryChange) error // nil: changes are applied here only
}

// MemoryChange is one change to an action's memory, as a group replicates
// it: key set to Value, or forgotten when Value is nil. With IfUnchanged,
// only while the key still holds Base (is absent, for a nil Base): what a
// node remembered alone must not undo what the group did meanwhile.
type MemoryChange struct {
	Action      string          `json:"action"`
	Key         string          `json:"key"`
	Value       json.RawMessage `json:"value,omitempty"`
	Time        time.Time       `json:"time,omitzero"`
	IfUnchanged bool            `json:"if_unchanged,omitempty"`
	Base        json.RawMessage `json:"base,omitempty"`
}

type memoryEntry struct {
	Value json.RawMessage `json:"value"`
	Time  time.Time       `json:"time"` // of the last Put, to drop the oldest first
}

// MaxMemoryEntries bounds a Memory: past it the oldest entries go (a
// firing whose rule has no on_resolve is never forgotten otherwise).
const MaxMemoryEntries = 1000

var memories = struct {
	sync.Mutex
	byPath map[string]*Memory
}{byPath: map[string]*Memory{}}

// OpenMemory returns the Memory of an action, loaded from stateDir when it
// has one. A file that cannot be read is started afresh, and the error
// says so: what it held is lost, but the action works.
func OpenMemory(stateDir, action string) (*Memory, error) {
	if stateDir == "" {
		return &Memory{action: action, entries: map[string]memoryEntry{}}, nil
	}
	path := filepath.Join(stateDir, "actions", action+".json")
	memories.Lock()
	defer memories.Unlock()
	if m := memories.byPath[path]; m != nil {
		return m, nil
	}
	m := &Memory{action: action, path: path, entries: map[string]memoryEntry{}}
	memories.byPath[path] = m
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return m, nil
	}
	if err == nil {
		err = json.Unmarshal(data, &m.entries)
	}
	if err != nil {
		m.entries = map[string]memoryEntry{}
		return m, fmt.Errorf("action memory %s: %w (started afresh)", path, err)
	}
	return m, nil
}

// Get decodes the value of key into v, and reports whether there was one.
func (m *Memory) Get(key string, v any) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	e, ok := m.entries[key]
	return ok && json.Unmarshal(e.Value, v) == nil
}

// Put sets the value of key and writes the memory down.
func (m *Memory) Put(key string, v any, now time.Time) error {
	data, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("action memory: %w", err)
	}
	return m.change(MemoryChange{Action: m.action, Key: key, Value: data, Time: now})
}

// Delete forgets key and writes the memory down.
func (m *Memory) Delete(key string) error {
	m.mu.Lock()
	_, ok := m.entries[key]
	m.mu.Unlock()
	if !ok {
		return nil
	}
	return m.change(MemoryChange{Action: m.action, Key: key})
}

// Replicate makes every later change go through publish, which must see
// it applied (Apply) wherever the memory is kept before it returns.
func (m *Memory) Replicate(publish func(MemoryChange) error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.publish = publish
}

func (m *Memory) change(c MemoryChange) error {
	m.mu.Lock()
	publish := m.publish
	m.mu.Unlock()
	if publish == nil {
		return m.Apply(c)
	}
	err := publish(c)
	if err == nil {
		return nil
	}
	// Remembered here at least: this node goes on knowing what it posted.
	if applyErr := m.Apply(c); applyErr != nil {
		return errors.Join(err, applyErr)
	}
	return fmt.Errorf("action memory %s: not replicated: %w", m.action, err)
}

// Apply makes a change and writes the memory down. A change IfUnchanged
// whose key no longer holds its Base is left out.
func (m *Memory) Apply(c MemoryChange) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if c.IfUnchanged {
		e, ok := m.entries[c.Key]
		if ok != (c.Base != nil) || ok && !sameJSON(e.Value, c.Base) {
			return nil
		}
	}
	if c.Value == nil {
		if _, ok := m.entries[c.Key]; !ok {
			return nil
		}
		delete(m.entries, c.Key)
	} else {
		m.entries[c.Key] = memoryEntry{Value: c.Value, Time: c.Time}
		m.forgetOldest()
	}
	return m.save()
}

// Image is the whole memory, for a group's snapshot; nil when empty.
func (m *Memory) Image() json.RawMessage {
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(m.entries) == 0 {
		return nil
	}
	data, _ := json.Marshal(m.entries) // of raw values and times: cannot fail
	return data
}

// Restore makes the memory what an Image says (empty for nil), and writes
// it down.
func (m *Memory) Restore(image json.RawMessage) error {
	entries := map[string]memoryEntry{}
	if image != nil {
		if err := json.Unmarshal(image, &entries); err != nil {
			return fmt.Errorf("action memory %s: %w", m.action, err)
		}
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(m.entries) == 0 && len(entries) == 0 {
		return nil // nothing to write: most actions remember nothing
	}
	m.entries = entries
	return m.save()
}

// ChangesSince returns the changes that make an Image of this memory into
// what it holds now, in key order, each IfUnchanged the key still holds
// what the Image says.
func (m *Memory) ChangesSince(image json.RawMessage) ([]MemoryChange, error) {
	before := map[string]memoryEntry{}
	if image != nil {
		if err := json.Unmarshal(image, &before); err != nil {
			return nil, fmt.Errorf("action memory %s: %w", m.action, err)
		}
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	var changes []MemoryChange
	for k, e := range m.entries {
		if b, ok := before[k]; !ok || !sameJSON(b.Value, e.Value) {
			changes = append(changes, MemoryChange{Action: m.action, Key: k, Value: e.Value, Time: e.Time, IfUnchanged: true, Base: b.Value})
		}
	}
	for k, b := range before {
		if _, ok := m.entries[k]; !ok {
			changes = append(changes, MemoryChange{Action: m.action, Key: k, IfUnchanged: true, Base: b.Value})
		}
	}
	sort.Slice(changes, func(i, j int) bool { return changes[i].Key < changes[j].Key })
	return changes, nil
}

// sameJSON reports whether two JSON values are written alike but for
// spaces: values that went through a group's log are compacted.
func sameJSON(a, b json.RawMessage) bool {
	var ca, cb bytes.Buffer
	if json.Compact(&ca, a) != nil || json.Compact(&cb, b) != nil {
		return bytes.Equal(a, b)
	}
	return bytes.Equal(ca.Bytes(), cb.Bytes())
}

// Each calls f with every key and its raw value, in key order, on a copy:
// f may call the other methods.
func (m *Memory) Each(f func(key string, value json.RawMessage)) {
	m.mu.Lock()
	keys := make([]string, 0, len(m.entries))
	values := make(map[string]json.RawMessage, len(m.entries))
	for k, e := range m.entries {
		keys = append(keys, k)
		values[k] = e.Value
	}
	m.mu.Unlock()
	sort.Strings(keys)
	for _, k := range keys {
		f(k, values[k])
	}
}

func (m *Memory) forgetOldest() {
	for len(m.entries) > MaxMemoryEntries {
		oldest := ""
		for k, e := range m.entries {
			if oldest == "" || e.Time.Before(m.entries[oldest].Time) {
				oldest = k
			}
		}
		delete(m.entries, oldest)
	}
}

// save replaces the memory's file with the entries. Callers hold mu.
func (m *Memory) save() error {
	if m.path == "" {
		return nil
	}
	data, err := json.Marshal(m.entries)
	if err == nil {
		err = os.MkdirAll(filepath.Dir(m.path), 0o700)
	}
	if err == nil {
		err = atomicfile.Write(m.path, data)
	}
	if err != nil {
		return fmt.Errorf("action memory: %w", err)
	}
	return nil
}
