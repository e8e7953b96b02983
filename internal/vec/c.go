//go:build cgo && !purego

package vec

// #cgo CFLAGS: -O3
// #cgo LDFLAGS: -lm
// #include "vec.h"
import "C"

import "unsafe"

// Native reports whether the float32 kernels run the C loops, and at which
// instruction-set level ("x86-64-v4", "x86-64-v3", "baseline").
func Native() (bool, string) { return true, levelName(int(C.tenpc_vec_get_level())) }

func init() { C.tenpc_vec_set_level(C.tenpc_vec_detect()) }

// setLevel forces the C kernels' instruction-set level (tests run every
// level the CPU has); it returns the previous one.
func setLevel(l int) int {
	old := int(C.tenpc_vec_get_level())
	C.tenpc_vec_set_level(C.int(l))
	return old
}

// detected is the highest level the CPU supports.
func detected() int { return int(C.tenpc_vec_detect()) }

func p(s []float32) *C.float { return (*C.float)(unsafe.Pointer(&s[0])) }

func prodNorm32(z0, z1, s0, s1 []float32, ld, B, K int, out []float32) {
	C.tenpc_prod_norm(p(z0), p(z1), p(s0), p(s1), C.long(ld), C.long(B), C.long(K), p(out))
}

func quot32(g []float32, ldg int, z, t []float32, B, K int) {
	C.tenpc_quot(p(g), C.long(ldg), p(z), p(t), C.long(B), C.long(K))
}

func hadamard32(x []float32, ld int, d, dx []float32, B, K int, set bool) {
	C.tenpc_hadamard(p(x), C.long(ld), p(d), p(dx), C.long(B), C.long(K), cbool(set))
}

func softmaxTable32(th []float32, K, nv int, tab []float32, logScale, scale, work []float64) bool {
	return C.tenpc_softmax_table(p(th), C.long(K), C.long(nv), p(tab), pd(logScale), pd(scale), pd(work)) != 0
}

func adam32(th, g, m, v []float32, h *AdamStep) {
	var c [10]float32
	for i, x := range []float64{h.Beta1, h.Beta2, h.C1, h.C2, h.StepSize, h.SqrtBC2, h.Eps, h.L2, h.Shrink, h.Min} {
		c[i] = float32(x)
	}
	flags := 0
	for i, on := range []bool{h.Decoupled, h.Coupled, h.Clamp} {
		if on {
			flags |= 1 << i
		}
	}
	C.tenpc_adam(p(th), p(g), p(m), p(v), C.long(len(th)), (*C.float)(unsafe.Pointer(&c[0])), C.int(flags))
}

func pd(s []float64) *C.double { return (*C.double)(unsafe.Pointer(&s[0])) }

func cbool(b bool) C.int {
	if b {
		return 1
	}
	return 0
}

func mixAcc32(x []float32, ld int, w []float32, m, c []float64, cs int, y []float64, B, K int, first bool) {
	C.tenpc_mix_acc(p(x), C.long(ld), p(w), pd(m), pd(c), C.long(cs), pd(y), C.long(B), C.long(K), cbool(first))
}

func mixPairForward32(x0, x1 []float32, ld int, w0, w1 []float32, B, K int, out []float32, work []float64) bool {
	C.tenpc_mix2_forward(p(x0), p(x1), C.long(ld), p(w0), p(w1), C.long(B), C.long(K), p(out), pd(work))
	return true
}

// pn is p, or NULL for an empty slice.
func pn(s []float32) *C.float {
	if len(s) == 0 {
		return nil
	}
	return p(s)
}

func mixPairBackward32(x0, x1 []float32, ld int, w0, w1, g []float32, B, K int, dw0, dw1, dx0, dx1 []float32, set0, set1 bool, work []float64) bool {
	C.tenpc_mix2_backward(p(x0), p(x1), C.long(ld), p(w0), p(w1), p(g), C.long(B), C.long(K),
		pn(dw0), pn(dw1), pn(dx0), pn(dx1), cbool(set0), cbool(set1), pd(work))
	return true
}

func normRows32(y, s []float64, out []float32, B, K int) {
	C.tenpc_norm_rows(pd(y), pd(s), p(out), C.long(B), C.long(K))
}

func quot64x32(g []float32, ldg int, y, r []float64, B, K int) {
	C.tenpc_quot64(p(g), C.long(ldg), pd(y), pd(r), C.long(B), C.long(K))
}

func mixGradW32(r []float64, x []float32, ld int, c []float64, cs int, dw []float32, B, K int) {
	C.tenpc_mix_grad_w(pd(r), p(x), C.long(ld), pd(c), C.long(cs), p(dw), C.long(B), C.long(K))
}

func mixGradX32(r []float64, w, x []float32, ld int, c []float64, cs int, dx []float32, B, K int, set bool) {
	C.tenpc_mix_grad_x(pd(r), p(w), p(x), C.long(ld), pd(c), C.long(cs), p(dx), C.long(B), C.long(K), cbool(set))
}

func scatterRows32(g []float32, ldg int, x []uint8, xs int, miss []bool, acc, tot []float64, B, K int) {
	var mp *C.uint8_t
	if miss != nil {
		mp = (*C.uint8_t)(unsafe.Pointer(&miss[0]))
	}
	C.tenpc_scatter_rows(p(g), C.long(ldg), (*C.uint8_t)(unsafe.Pointer(&x[0])), C.long(xs), mp, pd(acc), pd(tot), C.long(B), C.long(K))
}

func catGradSoftmax32(tab []float32, scale, acc, tot []float64, d []float32, K, nv int, set bool) {
	C.tenpc_cat_grad_softmax(p(tab), pd(scale), pd(acc), pd(tot), p(d), C.long(K), C.long(nv), cbool(set))
}

func firstNonFinite32(s []float32) int {
	var at C.long
	C.tenpc_first_non_finite(p(s), C.long(len(s)), &at)
	return int(at)
}

func add32(dst, src []float32) { C.tenpc_add(p(dst), p(src), C.long(len(dst))) }

func addRows32(dst, src []float32, ld, B, K int, set bool) {
	C.tenpc_add_rows(p(dst), p(src), C.long(ld), C.long(B), C.long(K), cbool(set))
}

func gemm32(M, N, P int, a []float32, sai, sap int, b []float32, ldb int, accumulate bool, c []float32, ldc int) {
	C.tenpc_gemm(C.long(M), C.long(N), C.long(P), p(a), C.long(sai), C.long(sap), p(b), C.long(ldb), C.long(len(b)), cbool(accumulate), p(c), C.long(ldc))
}

func transpose32(src []float32, ld, rows, cols int, dst []float32) {
	C.tenpc_transpose(p(src), C.long(ld), C.long(rows), C.long(cols), p(dst))
}

func outer32(x1, x2 []float32, ld, B, K int, y []float32) {
	C.tenpc_outer(p(x1), p(x2), C.long(ld), C.long(B), C.long(K), p(y))
}

func tuckerGradIn32(d, x1, x2 []float32, ld int, dx1, dx2 []float32, B, K int) {
	var p1, p2 *C.float
	if dx1 != nil {
		p1 = p(dx1)
	}
	if dx2 != nil {
		p2 = p(dx2)
	}
	C.tenpc_tucker_grad_in(p(d), p(x1), p(x2), C.long(ld), p1, p2, C.long(B), C.long(K))
}

func gemmMul32(M, N, P int, a []float32, sai, sap int, b []float32, ldb int, mul []float32, ldm int, accumulate bool, c []float32, ldc int) bool {
	return C.tenpc_gemm_mul(C.long(M), C.long(N), C.long(P), p(a), C.long(sai), C.long(sap), p(b), C.long(ldb), p(mul), C.long(ldm), cbool(accumulate), p(c), C.long(ldc)) != 0
}

func gatherRows32(tab []float32, logScale []float64, K int, x []uint8, xs, B int, out []float32) {
	C.tenpc_gather_rows(p(tab), pd(logScale), C.long(K), (*C.uint8_t)(unsafe.Pointer(&x[0])), C.long(xs), C.long(B), p(out))
}
