package history

import (
	"bufio"
	"encoding/json"
	"io"
)

// WriteJSON writes the window as json.Marshal would, one element at a
// time: a week of history is large, and need not be in memory twice.
func (w Window) WriteJSON(out io.Writer) error {
	head := w
	head.States, head.Splits, head.Outcomes, head.Deliveries, head.Unfinished, head.Spans, head.Marks = nil, nil, nil, nil, nil, nil, nil
	data, err := json.Marshal(head)
	if err != nil {
		return err
	}
	b := bufio.NewWriter(out)
	b.Write(data[:len(data)-1]) // the fields but the lists, without the closing brace
	writeList(b, "states", w.States)
	writeList(b, "splits", w.Splits)
	writeList(b, "outcomes", w.Outcomes)
	writeList(b, "deliveries", w.Deliveries)
	writeList(b, "unfinished", w.Unfinished)
	writeList(b, "spans", w.Spans)
	writeList(b, "marks", w.Marks)
	b.WriteString("}\n")
	return b.Flush()
}

func writeList[T any](b *bufio.Writer, name string, list []T) {
	b.WriteString(`,"` + name + `":[`)
	for i, v := range list {
		if i > 0 {
			b.WriteByte(',')
		}
		data, _ := json.Marshal(v) // the element types always encode
		b.Write(data)
	}
	b.WriteByte(']')
}
