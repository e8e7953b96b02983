package decomp

import "fmt"

// InputError reports a bad argument to a function of this package: which
// function, which input and what is wrong with it.
type InputError struct {
	Func    string // e.g. "CPALS"
	Input   string // e.g. "rank"
	Problem string // e.g. "0 is below 1"
}

func (e *InputError) Error() string {
	return "decomp." + e.Func + ": " + e.Input + " " + e.Problem
}

func inputErr(fn, input, format string, args ...any) error {
	return &InputError{Func: fn, Input: input, Problem: fmt.Sprintf(format, args...)}
}
