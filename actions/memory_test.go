package actions

import (
	"encoding/json"
	"errors"
	"maps"
	"testing"
	"time"
)

// A replicated memory changes only through the group: what publish
// applies (on every node) is what the memory holds; when the group cannot
// take a change, this node remembers it all the same, and says so.
func TestMemoryReplicated(t *testing.T) {
	leader, follower := openTestMemory(t), openTestMemory(t)
	var published []MemoryChange
	fail := false
	leader.Replicate(func(c MemoryChange) error {
		if fail {
			return errors.New("no leader")
		}
		published = append(published, c)
		for _, m := range []*Memory{leader, follower} {
			if err := m.Apply(c); err != nil {
				return err
			}
		}
		return nil
	})
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	if err := leader.Put("a", "open", at); err != nil {
		t.Fatal(err)
	}
	var v string
	if !follower.Get("a", &v) || v != "open" {
		t.Fatalf("follower: %q, want the value the leader put", v)
	}
	if err := leader.Delete("a"); err != nil || follower.Get("a", &v) {
		t.Fatalf("follower still has a after a delete (err %v)", err)
	}
	if err := leader.Delete("never"); err != nil || len(published) != 2 {
		t.Fatalf("a delete of nothing was published: %v, err %v", published, err)
	}
	fail = true
	if err := leader.Put("b", "alone", at); err == nil || !leader.Get("b", &v) {
		t.Fatalf("a change the group refused: err %v, kept here %v", err, leader.Get("b", &v))
	}
}

// Image and Restore carry a memory whole, as a group's snapshot does; an
// empty memory has no image, and restoring none empties one.
func TestMemoryImage(t *testing.T) {
	src, dst := openTestMemory(t), openTestMemory(t)
	if src.Image() != nil {
		t.Fatalf("empty memory: image %s, want nil", src.Image())
	}
	_ = src.Put("k", map[string]int{"n": 1}, time.Now())
	_ = dst.Put("stale", 1, time.Now())
	if err := dst.Restore(src.Image()); err != nil {
		t.Fatal(err)
	}
	var got map[string]int
	if !dst.Get("k", &got) || got["n"] != 1 || dst.Get("stale", new(int)) {
		t.Fatalf("restored: k=%v, stale kept %v", got, dst.Get("stale", new(int)))
	}
	if err := dst.Restore(nil); err != nil || dst.Image() != nil {
		t.Fatalf("restoring nothing: %s (err %v)", dst.Image(), err)
	}
}

func openTestMemory(t *testing.T) *Memory {
	m, err := OpenMemory(t.TempDir(), "am")
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// What a memory changed since an Image (a node's, while it ran alone) is
// handed to the group as changes that apply only where the group left the
// key as the Image had it: the group's own changes meanwhile are kept.
func TestMemoryChangesSinceApplyWhereUnchanged(t *testing.T) {
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	tests := []struct {
		name  string
		group func(m *Memory) // what the group did meanwhile
		want  map[string]string
	}{
		{"untouched", func(*Memory) {},
			map[string]string{"kept": "k", "changed": "alone", "posted": "alone"}},
		{"changed by the group", func(m *Memory) {
			_ = m.Put("changed", "group", at)
			_ = m.Put("posted", "group", at)
			_ = m.Put("deleted", "group", at)
		}, map[string]string{"kept": "k", "changed": "group", "posted": "group", "deleted": "group"}},
		{"forgotten by the group", func(m *Memory) { _ = m.Delete("changed") },
			map[string]string{"kept": "k", "posted": "alone"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			alone, group := openTestMemory(t), openTestMemory(t)
			for _, m := range []*Memory{alone, group} {
				_ = m.Put("kept", "k", at)
				_ = m.Put("changed", "before", at)
				_ = m.Put("deleted", "before", at)
			}
			image := alone.Image()
			_ = alone.Put("changed", "alone", at)
			_ = alone.Put("posted", "alone", at)
			_ = alone.Delete("deleted")
			tt.group(group)
			changes, err := alone.ChangesSince(image)
			if err != nil || len(changes) != 3 {
				t.Fatalf("changes %+v (err %v), want the 3 made alone", changes, err)
			}
			for _, c := range changes {
				if err := group.Apply(c); err != nil {
					t.Fatal(err)
				}
			}
			got := map[string]string{}
			group.Each(func(k string, _ json.RawMessage) {
				var v string
				group.Get(k, &v)
				got[k] = v
			})
			if !maps.Equal(got, tt.want) {
				t.Errorf("the group holds %v, want %v", got, tt.want)
			}
		})
	}
}
