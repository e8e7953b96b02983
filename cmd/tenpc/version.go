package main

import (
	"fmt"
	"io"

	"github.com/tenpc/tenpc/experiments"
)

func init() {
	register("version", "print the version, Go version and BLAS in use", func(args []string, out io.Writer) error {
		fs := newFlagSet("version", out)
		if err := parseFlags(fs, args, 0); err != nil {
			return err
		}
		p := experiments.CurrentPlatform()
		fmt.Fprintf(out, "tenpc %s (%s, BLAS: %s, kernels: %s)\n", p.Version, p.Go, p.BLAS, p.Kernels)
		return nil
	})
}
