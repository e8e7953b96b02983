//go:build openblas && cgo

package kernel

import (
	"gonum.org/v1/gonum/blas/blas32"
	"gonum.org/v1/gonum/blas/blas64"
	"gonum.org/v1/netlib/blas/netlib"
)

// With -tags openblas the kernel tests and benchmarks run on OpenBLAS, as
// package nn selects it at init (kernel does not import nn).
func init() {
	blas32.Use(netlib.Implementation{})
	blas64.Use(netlib.Implementation{})
}
