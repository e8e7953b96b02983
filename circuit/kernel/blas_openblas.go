//go:build openblas && cgo

package kernel

// gonum's netlib binding carries no linker flag; package nn links OpenBLAS
// for programs, this file does it for kernel's own test binary (test files
// cannot use cgo), so that `go test -tags openblas ./circuit/kernel/` links.
// Which BLAS the kernels call is still chosen by package nn (or, in tests,
// by blas_openblas_test.go).

// #cgo LDFLAGS: -lopenblas
// void openblas_set_num_threads(int);
import "C"

func init() {
	// Kernels parallelise over folds; OpenBLAS stays single-threaded inside,
	// as package nn also sets.
	C.openblas_set_num_threads(1)
}
