//go:build openblas && cgo

package nn

// #cgo LDFLAGS: -lopenblas
// void openblas_set_num_threads(int);
import "C"

import (
	"gonum.org/v1/gonum/blas/blas32"
	"gonum.org/v1/gonum/blas/blas64"
	"gonum.org/v1/netlib/blas/netlib"
	"gorgonia.org/tensor"
)

func init() {
	// tenpc parallelises over folds with goroutines; BLAS calls stay
	// single-threaded so the two do not fight over the cores.
	C.openblas_set_num_threads(1)
	blas32.Use(netlib.Implementation{})
	blas64.Use(netlib.Implementation{})
	tensor.Use(netlib.Implementation{})
	blasName = "OpenBLAS (cgo, netlib)"
}
