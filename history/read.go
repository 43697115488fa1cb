package history

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
)

// maxLine bounds one line of history: longer ones are skipped.
const maxLine = 1 << 20

// readSegment calls f with each entry of a segment, in order; a line that
// does not parse (torn by a crash, or being written) is skipped.
func readSegment(path string, f func(Entry)) error {
	file, err := os.Open(path)
	if os.IsNotExist(err) {
		return nil // pruned meanwhile
	}
	if err != nil {
		return fmt.Errorf("history: %w", err)
	}
	defer file.Close()
	sc := bufio.NewScanner(file)
	sc.Buffer(make([]byte, 64<<10), maxLine)
	for sc.Scan() {
		var e Entry
		if json.Unmarshal(sc.Bytes(), &e) == nil && !e.Time().IsZero() {
			f(e)
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("history %s: %w", path, err)
	}
	return nil
}
