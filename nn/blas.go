package nn

import (
	"github.com/tenpc/tenpc/internal/vec"
	"gonum.org/v1/gonum/blas/blas32"
	"gonum.org/v1/gonum/blas/blas64"
)

// Version is tenpc's version string.
const Version = "0.1.0-dev"

// blasName names the BLAS in use; blas_openblas.go replaces it when tenpc is
// built with the openblas tag (the Makefile sets it when libopenblas is
// installed).
var blasName = "gonum (pure Go)"

// BLAS names the BLAS implementation float64 GEMMs (and, in builds without
// the C kernels, float32 ones) go through.
func BLAS() string { return blasName }

// Kernels names the implementation of the element-wise loops and float32
// GEMMs of the circuit layers: vectorized C at the CPU's instruction-set
// level ("C x86-64-v4"), or "Go" in builds without cgo or with the tag
// purego.
func Kernels() string {
	if ok, level := vec.Native(); ok {
		return "C " + level
	}
	return "Go"
}

// Gemm32 and Gemm64 are the GEMMs kernels call: blas32/blas64 dispatch to
// whichever implementation init selected.
var (
	Gemm32 = blas32.Implementation
	Gemm64 = blas64.Implementation
)
