package experiments

import (
	"fmt"
	"strings"
)

// enum names the values 0, 1, … of a small integer enumeration, for the
// String methods and parsers of experiments' option types.
type enum[T ~int] struct {
	kind  string   // what a value is, in errors: "optimizer", "scale", …
	names []string // names[v] is v's name
}

// name is v's name, or kind(v) for a value outside the enumeration.
func (e enum[T]) name(v T) string {
	if v >= 0 && int(v) < len(e.names) {
		return e.names[v]
	}
	return fmt.Sprintf("%s(%d)", e.kind, int(v))
}

// parse returns the value named s, or an error listing the names.
func (e enum[T]) parse(s string) (T, error) {
	for i, n := range e.names {
		if s == n {
			return T(i), nil
		}
	}
	return 0, fmt.Errorf("unknown %s %q (want %s)", e.kind, s, strings.Join(e.names, ", "))
}
