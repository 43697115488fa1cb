// Package field carries configuration errors that point at a place in the
// config file: a path such as `rules[2].when`, and optionally an offset into
// that value (a column inside an expression). Packages that validate their
// own part of the config return these; the config loader turns paths into
// file:line:col.
package field

import (
	"errors"
	"fmt"
)

// Error is one problem at one config path.
type Error struct {
	Path   string // e.g. "rules[2].when"; empty for the whole file
	Offset int    // 0-based byte offset into the value, or -1 for the value as a whole
	Msg    string
}

func (e *Error) Error() string {
	if e.Path == "" {
		return e.Msg
	}
	return e.Path + ": " + e.Msg
}

// Errorf returns an Error for the value at path.
func Errorf(path, format string, args ...any) *Error {
	return &Error{Path: path, Offset: -1, Msg: fmt.Sprintf(format, args...)}
}

// List collects errors so that validation can report all of them at once.
type List []*Error

// Add appends an error for the value at path.
func (l *List) Add(path, format string, args ...any) {
	*l = append(*l, Errorf(path, format, args...))
}

// AddAt appends an error at an offset into the value at path.
func (l *List) AddAt(path string, offset int, format string, args ...any) {
	*l = append(*l, &Error{Path: path, Offset: offset, Msg: fmt.Sprintf(format, args...)})
}

// Prefix re-roots errors returned by a nested validator under path.
func (l *List) Prefix(path string, errs List) {
	for _, e := range errs {
		c := *e
		switch {
		case c.Path == "":
			c.Path = path
		case c.Path[0] == '[':
			c.Path = path + c.Path
		default:
			c.Path = path + "." + c.Path
		}
		*l = append(*l, &c)
	}
}

// Err returns the list as an error, or nil when it is empty.
func (l List) Err() error {
	if len(l) == 0 {
		return nil
	}
	return l
}

func (l List) Error() string {
	errs := make([]error, len(l))
	for i, e := range l {
		errs[i] = e
	}
	return errors.Join(errs...).Error()
}
