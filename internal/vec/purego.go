//go:build !cgo || purego

package vec

// Native reports whether the float32 kernels run the C loops: not in this
// build (no cgo, or the tag purego), where they run ref.go's Go loops.
func Native() (bool, string) { return false, "go" }

func setLevel(int) int { return 0 }

func detected() int { return 0 }

func prodNorm32(z0, z1, s0, s1 []float32, ld, B, K int, out []float32) {
	prodNormRef(z0, z1, s0, s1, ld, B, K, out)
}

func quot32(g []float32, ldg int, z, t []float32, B, K int) { quotRef(g, ldg, z, t, B, K) }

func hadamard32(x []float32, ld int, d, dx []float32, B, K int, set bool) {
	hadamardRef(x, ld, d, dx, B, K, set)
}

func softmaxTable32(th []float32, K, C int, tab []float32, logScale, scale, work []float64) bool {
	return softmaxTableRef(th, K, C, tab, logScale, scale, work)
}

func adam32(th, g, m, v []float32, h *AdamStep) { adamRef(th, g, m, v, h) }
