package event

import (
	"fmt"
	"testing"
)

func TestUnknownTypesTellsOfEachOnceAndStaysBounded(t *testing.T) {
	var u UnknownTypes
	if !u.First("a") || u.First("a") {
		t.Fatal("the first sighting of a type is not told of once")
	}
	for i := range MaxUnknownTypes - 1 {
		if !u.First(fmt.Sprint("t", i)) {
			t.Fatalf("type %d of %d not told of", i+2, MaxUnknownTypes)
		}
	}
	if u.First("one too many") || len(u.seen) != MaxUnknownTypes {
		t.Errorf("past %d types: told of, %d remembered", MaxUnknownTypes, len(u.seen))
	}
}
