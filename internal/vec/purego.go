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

func mixAcc32(x []float32, ld int, w []float32, m, c []float64, cs int, y []float64, B, K int, first bool) {
	mixAccRef(x, ld, w, m, c, cs, y, B, K, first)
}

func mixPairForward32(x0, x1 []float32, ld int, w0, w1 []float32, B, K int, out []float32, work []float64) bool {
	return false
}

func mixPairBackward32(x0, x1 []float32, ld int, w0, w1, g []float32, B, K int, dw0, dw1, dx0, dx1 []float32, set0, set1 bool, work []float64) bool {
	return false
}

func normRows32(y, s []float64, out []float32, B, K int) { normRowsRef(y, s, out, B, K) }

func quot64x32(g []float32, ldg int, y, r []float64, B, K int) { quotF64Ref(g, ldg, y, r, B, K) }

func mixGradW32(r []float64, x []float32, ld int, c []float64, cs int, dw []float32, B, K int) {
	mixGradWRef(r, x, ld, c, cs, dw, B, K)
}

func mixGradX32(r []float64, w, x []float32, ld int, c []float64, cs int, dx []float32, B, K int, set bool) {
	mixGradXRef(r, w, x, ld, c, cs, dx, B, K, set)
}

func scatterRows32(g []float32, ldg int, x []uint8, xs int, miss []bool, acc, tot []float64, B, K int) {
	scatterRowsRef(g, ldg, x, xs, miss, acc, tot, B, K)
}

func catGradSoftmax32(tab []float32, scale, acc, tot []float64, d []float32, K, C int, set bool) {
	catGradSoftmaxRef(tab, scale, acc, tot, d, K, C, set)
}

func firstNonFinite32(s []float32) int { return firstNonFiniteRef(s) }

func add32(dst, src []float32) { addRef(dst, src) }

func addRows32(dst, src []float32, ld, B, K int, set bool) { addRowsRef(dst, src, ld, B, K, set) }

func gemm32(M, N, P int, a []float32, sai, sap int, b []float32, ldb int, accumulate bool, c []float32, ldc int) {
	gemmRef(M, N, P, a, sai, sap, b, ldb, accumulate, c, ldc)
}

func transpose32(src []float32, ld, rows, cols int, dst []float32) {
	transposeRef(src, ld, rows, cols, dst)
}

func outer32(x1, x2 []float32, ld, B, K int, y []float32) { outerRef(x1, x2, ld, B, K, y) }

func tuckerGradIn32(d, x1, x2 []float32, ld int, dx1, dx2 []float32, B, K int) {
	tuckerGradInRef(d, x1, x2, ld, dx1, dx2, B, K)
}

func gemmMul32(M, N, P int, a []float32, sai, sap int, b []float32, ldb int, mul []float32, ldm int, accumulate bool, c []float32, ldc int) bool {
	return false
}

func gatherRows32(tab []float32, logScale []float64, K int, x []uint8, xs, B int, out []float32) {
	gatherRowsRef(tab, logScale, K, x, xs, B, out)
}
