package main

import (
	"fmt"
	"io"

	"github.com/tenpc/tenpc/experiments"
)

func init() {
	register("info", "describe a model file: architecture, parameters, training history", runInfo)
}

func runInfo(args []string, stdout io.Writer) error {
	fs := newFlagSet("info", stdout)
	model := fs.String("model", "", "model file (required)")
	if err := parseFlags(fs, args, 0); err != nil {
		return err
	}
	if *model == "" {
		return badInput("missing -model FILE")
	}
	s, err := experiments.Info(*model)
	if err != nil {
		return inputErr(err)
	}
	fmt.Fprint(stdout, s)
	return nil
}
