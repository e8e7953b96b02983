// Command tenpc trains and queries tensorized probabilistic circuits.
//
// Each subcommand lives in its own file and registers itself in init; main
// only dispatches. Subcommands parse flags into a library config and call one
// function. Bad input (unknown flags, malformed files, invalid values) exits
// with status 2 and a one-line message; other failures exit with status 1.
package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
)

type command struct {
	name    string
	summary string
	run     func(args []string, stdout io.Writer) error
}

var commands = map[string]command{}

func register(name, summary string, run func(args []string, stdout io.Writer) error) {
	if _, dup := commands[name]; dup {
		panic("tenpc: command registered twice: " + name)
	}
	commands[name] = command{name, summary, run}
}

// usageError marks bad input: the process exits with status 2.
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

// badInput wraps err (or a formatted message) as a usage error.
func badInput(format string, args ...any) error {
	return usageError{fmt.Errorf(format, args...)}
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "usage: tenpc <command> [flags]\n\ncommands:")
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-10s %s\n", n, commands[n].summary)
	}
	fmt.Fprintln(w, "\nRun 'tenpc <command> -h' for a command's flags.")
}

// run executes the command line and returns the process exit status.
func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "-help" || args[0] == "help" {
		usage(stdout)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	c, ok := commands[args[0]]
	if !ok {
		fmt.Fprintf(stderr, "tenpc: unknown command %q (run 'tenpc help')\n", args[0])
		return 2
	}
	err := c.run(args[1:], stdout)
	switch {
	case err == nil:
		return 0
	case errors.Is(err, errHelp):
		return 0
	}
	fmt.Fprintf(stderr, "tenpc %s: %v\n", c.name, err)
	var ue usageError
	if errors.As(err, &ue) {
		return 2
	}
	return 1
}

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}
