package experiments

import (
	"runtime"

	"github.com/tenpc/tenpc/nn"
)

// Platform describes the build and machine that runs tenpc, as `tenpc
// version` and `tenpc bench` report it.
type Platform struct {
	// Version is tenpc's version (nn.Version); Go is the Go release.
	Version, Go string
	// BLAS is the matrix library in use; Kernels the element-wise kernels
	// (nn.BLAS, nn.Kernels).
	BLAS, Kernels string
	// GOMAXPROCS and NumCPU are the Go runtime's thread limit and the
	// machine's logical CPUs.
	GOMAXPROCS, NumCPU int
}

// CurrentPlatform returns the platform of this process.
func CurrentPlatform() Platform {
	return Platform{
		Version: nn.Version, Go: runtime.Version(),
		BLAS: nn.BLAS(), Kernels: nn.Kernels(),
		GOMAXPROCS: runtime.GOMAXPROCS(0), NumCPU: runtime.NumCPU(),
	}
}
