package nn

import (
	"gonum.org/v1/gonum/blas/blas32"
	"gonum.org/v1/gonum/blas/blas64"
)

// Version is tenpc's version string.
const Version = "0.1.0-dev"

// blasName names the BLAS in use; blas_openblas.go replaces it when tenpc is
// built with the openblas tag (the Makefile sets it when libopenblas is
// installed).
var blasName = "gonum (pure Go)"

// BLAS names the BLAS implementation every GEMM in tenpc goes through.
func BLAS() string { return blasName }

// Gemm32 and Gemm64 are the GEMMs kernels call: blas32/blas64 dispatch to
// whichever implementation init selected.
var (
	Gemm32 = blas32.Implementation
	Gemm64 = blas64.Implementation
)
