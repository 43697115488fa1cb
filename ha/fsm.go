package ha

import (
	"encoding/json"
	"fmt"
	"io"

	"github.com/hashicorp/raft"
)

// fsm is raft's view of the Machine: it decodes each log entry into a
// Command and applies it.
type fsm struct {
	m Machine
}

func (f *fsm) Apply(l *raft.Log) any {
	if l.Type != raft.LogCommand {
		return nil
	}
	var c Command
	if err := json.Unmarshal(l.Data, &c); err != nil {
		// Every node skips the same entry: the machines stay alike.
		return fmt.Errorf("log entry %d: %w", l.Index, err)
	}
	f.m.Apply(c)
	return nil
}

func (f *fsm) Snapshot() (raft.FSMSnapshot, error) {
	data, err := f.m.Snapshot()
	if err != nil {
		return nil, err
	}
	return snapshot(data), nil
}

func (f *fsm) Restore(r io.ReadCloser) error {
	defer r.Close()
	data, err := io.ReadAll(r)
	if err != nil {
		return fmt.Errorf("restore: %w", err)
	}
	return f.m.Restore(data)
}

// snapshot is the machine's state as Snapshot returned it.
type snapshot []byte

func (s snapshot) Persist(sink raft.SnapshotSink) error {
	if _, err := sink.Write(s); err != nil {
		sink.Cancel()
		return fmt.Errorf("snapshot: %w", err)
	}
	return sink.Close()
}

func (snapshot) Release() {}
