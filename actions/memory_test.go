package actions

import (
	"errors"
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
