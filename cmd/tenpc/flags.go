package main

import (
	"errors"
	"flag"
	"io"
	"strconv"
	"strings"

	"github.com/tenpc/tenpc/experiments"
)

// errHelp is returned when the user asked for -h: not a failure.
var errHelp = errors.New("help requested")

// newFlagSet returns a flag set that reports errors instead of exiting.
func newFlagSet(name string, out io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("tenpc "+name, flag.ContinueOnError)
	fs.SetOutput(out)
	return fs
}

// parseFlags parses args, turning flag errors into usage errors and rejecting
// stray positional arguments beyond maxArgs (-1: any number).
func parseFlags(fs *flag.FlagSet, args []string, maxArgs int) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return errHelp
		}
		return usageError{err}
	}
	if maxArgs >= 0 && fs.NArg() > maxArgs {
		return badInput("unexpected argument %q", fs.Arg(maxArgs))
	}
	return nil
}

// parseInts parses a comma-separated list of integers such as "1,28,28".
func parseInts(flagName, s string) ([]int, error) {
	if strings.TrimSpace(s) == "" {
		return nil, badInput("-%s: empty list", flagName)
	}
	parts := strings.Split(s, ",")
	out := make([]int, len(parts))
	for i, p := range parts {
		v, err := strconv.Atoi(strings.TrimSpace(p))
		if err != nil {
			return nil, badInput("-%s: %q is not an integer", flagName, p)
		}
		out[i] = v
	}
	return out, nil
}

// parseMaxMemory parses -max-memory ("" : no limit beyond the memory the
// system reports available).
func parseMaxMemory(s string) (int64, error) {
	if s == "" {
		return 0, nil
	}
	n, err := experiments.ParseBytes(s)
	if err != nil {
		return 0, badInput("-max-memory: %v", err)
	}
	if n == 0 {
		return 0, badInput("-max-memory: %q is zero; leave the flag out for no limit", s)
	}
	return n, nil
}
