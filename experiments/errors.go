package experiments

import (
	"errors"
	"fmt"
)

// InputError marks a failure caused by the caller's input rather than by
// the machine: a bad configuration value, a dataset that is not there, a
// model file of another architecture or format version, an output
// directory that already holds a run. Commands exit with status 2 on it.
type InputError struct{ Err error }

func (e *InputError) Error() string { return e.Err.Error() }
func (e *InputError) Unwrap() error { return e.Err }

// inputErrorf returns an *InputError with a formatted message.
func inputErrorf(format string, args ...any) error {
	return &InputError{fmt.Errorf(format, args...)}
}

// asInput wraps err as an *InputError (nil stays nil; an InputError is
// returned as it is).
func asInput(err error) error {
	var ie *InputError
	if err == nil || errors.As(err, &ie) {
		return err
	}
	return &InputError{err}
}

// IsInputError reports whether err is (or wraps) an *InputError.
func IsInputError(err error) bool {
	var ie *InputError
	return errors.As(err, &ie)
}
