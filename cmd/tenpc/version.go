package main

import (
	"fmt"
	"io"
	"runtime"

	"github.com/tenpc/tenpc/nn"
)

func init() {
	register("version", "print the version, Go version and BLAS in use", func(args []string, out io.Writer) error {
		fs := newFlagSet("version", out)
		if err := parseFlags(fs, args, 0); err != nil {
			return err
		}
		fmt.Fprintf(out, "tenpc %s (%s, BLAS: %s, kernels: %s)\n", nn.Version, runtime.Version(), nn.BLAS(), nn.Kernels())
		return nil
	})
}
