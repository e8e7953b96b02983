// Package vec holds the arithmetic of tenpc's circuit kernels: a small GEMM
// for the layers' products (K up to a few hundred), the products and
// normalization of CP and mixing layers, the quotients of their backward,
// the categorical table's softmax and gradient, Tucker's outer products,
// Adam, and the bookkeeping of gradients; and Chunks, which splits long
// element-wise passes across the cores. Each function is generic over
// float32 and float64; the float32 instances run vectorized C (cgo,
// compiled for AVX-512, AVX2 and the baseline, chosen from the CPU at
// start-up) unless the build has no cgo or the tag purego, where they, like
// every float64 instance, run the Go reference loops of ref.go. The two give
// bit-identical results except where a function says otherwise (the GEMM's
// fused multiply-adds); the tests hold every level to the reference.
//
// Layouts are row-major with explicit leading dimensions, as in BLAS; every
// function checks its slices' lengths and panics when one is short (the C
// loops do no bounds checks of their own).
package vec

import (
	"fmt"
	"unsafe"
)

// Float is the element type of the kernels.
type Float interface{ ~float32 | ~float64 }

// is32 reports whether T is 4 bytes wide (a constant per instantiation).
func is32[T Float]() bool {
	var z T
	return unsafe.Sizeof(z) == 4
}

// f32 reinterprets a []T of 4-byte T as []float32.
func f32[T Float](s []T) []float32 {
	if len(s) == 0 {
		return nil
	}
	return unsafe.Slice((*float32)(unsafe.Pointer(&s[0])), len(s))
}

// need panics unless len(s) ≥ n.
func need[T any](fn, name string, s []T, n int) {
	if len(s) < n {
		panic(fmt.Sprintf("vec.%s: %s has %d elements, want at least %d", fn, name, len(s), n))
	}
}

// rows is the length a (B, K) block with leading dimension ld spans.
func rows(B, K, ld int) int {
	if B == 0 || K == 0 {
		return 0
	}
	return (B-1)*ld + K
}

// ProdNorm writes, for each of the B rows, the product H = z0[b]⊙z1[b]
// (formed in float64) normalized by its maximum m: out[b] = [H/m,
// s0[b·ld] + s1[b·ld] + log m], with exactly 1 at the maximum; a row with
// m = 0 is [0…, −Inf], a row with a NaN is all NaN. z0, z1: (B, K);
// s0, s1: log-scales with stride ld; out: (B, K+1).
func ProdNorm[T Float](z0, z1, s0, s1 []T, ld, B, K int, out []T) {
	need("ProdNorm", "z0", z0, B*K)
	need("ProdNorm", "z1", z1, B*K)
	need("ProdNorm", "s0", s0, rows(B, 1, ld))
	need("ProdNorm", "s1", s1, rows(B, 1, ld))
	need("ProdNorm", "out", out, B*(K+1))
	if B == 0 || K == 0 {
		prodNormRef(z0, z1, s0, s1, ld, B, K, out)
		return
	}
	if is32[T]() {
		prodNorm32(f32(z0), f32(z1), f32(s0), f32(s1), ld, B, K, f32(out))
		return
	}
	prodNormRef(z0, z1, s0, s1, ld, B, K, out)
}

// Quot writes t[b,k] = g[b·ldg+k] / z[b,k], 0 where z[b,k] = 0.
// g: (B, K) with leading dimension ldg; z, t: (B, K).
func Quot[T Float](g []T, ldg int, z, t []T, B, K int) {
	need("Quot", "g", g, rows(B, K, ldg))
	need("Quot", "z", z, B*K)
	need("Quot", "t", t, B*K)
	if is32[T]() && B*K > 0 {
		quot32(f32(g), ldg, f32(z), f32(t), B, K)
		return
	}
	quotRef(g, ldg, z, t, B, K)
}

// Hadamard adds x ⊙ d into dx (set: writes it): dx[b·ld+k] (+)= x[b·ld+k]·d[b,k]
// for k < K. x, dx: (B, K) with leading dimension ld (entries K..ld−1 of a
// row untouched); d: (B, K).
func Hadamard[T Float](x []T, ld int, d, dx []T, B, K int, set bool) {
	need("Hadamard", "x", x, rows(B, K, ld))
	need("Hadamard", "d", d, B*K)
	need("Hadamard", "dx", dx, rows(B, K, ld))
	if is32[T]() && B*K > 0 {
		hadamard32(f32(x), ld, f32(d), f32(dx), B, K, set)
		return
	}
	hadamardRef(x, ld, d, dx, B, K, set)
}

// SoftmaxWork is the length of the work slice SoftmaxTable needs.
func SoftmaxWork(K, C int) int { return K + C }

// SoftmaxTable builds one variable's rows of a categorical gather table
// from its logits θ: (K, C), in float32 arithmetic with float64 log-domain
// sums: with lse[k] = log Σ_c e^θ[k,c] (exps by exp32, summed in float64
// in sixteen lanes, value c in lane c mod 16) and L[c] = max_k θ[k,c] − lse[k], the log of the largest
// probability of value c, it writes tab: (C, K) with
// tab[c,k] = exp32(θ[k,c] − lse[k] − L[c]) = p[k,c] / max_k' p[k',c]
// (exactly 1 at every maximum, within 2e-7 of the ratio elsewhere, 0 where
// the ratio is below e^−87), logScale[c] = L[c] and scale[c] = e^L[c]. It
// returns false, leaving tab, scale and logScale as they were, when a logit
// is infinite or not a number or some value's largest probability is below
// 1e-300 (the caller then builds the variable in log space).
// work: SoftmaxWork(K, C) float64s.
func SoftmaxTable[T Float](th []T, K, C int, tab []T, logScale, scale, work []float64) bool {
	need("SoftmaxTable", "th", th, K*C)
	need("SoftmaxTable", "tab", tab, C*K)
	need("SoftmaxTable", "logScale", logScale, C)
	need("SoftmaxTable", "scale", scale, C)
	need("SoftmaxTable", "work", work, SoftmaxWork(K, C))
	if is32[T]() && K > 0 && C > 0 {
		return softmaxTable32(f32(th), K, C, f32(tab), logScale, scale, work)
	}
	return softmaxTableRef(th, K, C, tab, logScale, scale, work)
}

// AdamStep holds the coefficients of one Adam step, in float64; the kernel
// rounds them to the parameters' type.
type AdamStep struct {
	Beta1, Beta2 float64
	C1, C2       float64 // 1−β1, 1−β2
	StepSize     float64 // α / (1−β1^t)
	SqrtBC2      float64 // √(1−β2^t)
	Eps          float64
	L2           float64 // coupled weight decay λ (added to g); used when Coupled
	Shrink       float64 // 1 − α·λ for decoupled weight decay; used when Decoupled
	Min          float64 // the clamp's lower bound; used when Clamp
	Coupled      bool
	Decoupled    bool
	Clamp        bool
}

// Adam applies one Adam step in place, in the precision of T:
//
//	θ ← θ·Shrink                    (Decoupled)
//	g ← g + L2·θ                    (Coupled; g is only read)
//	m ← β1·m + C1·g,  v ← β2·v + C2·g·g
//	θ ← θ − StepSize·(m / (√v / SqrtBC2 + Eps))
//	θ ← Min where θ < Min or θ is NaN (Clamp)
func Adam[T Float](th, g, m, v []T, h *AdamStep) {
	n := len(th)
	need("Adam", "g", g, n)
	need("Adam", "m", m, n)
	need("Adam", "v", v, n)
	if is32[T]() && n > 0 {
		adam32(f32(th), f32(g), f32(m), f32(v), h)
		return
	}
	adamRef(th, g, m, v, h)
}

// MixAcc adds one input of a mixing layer into y, the float64 sums of B
// rows of K units: with s = x[b·ld+K] the input row's log-scale and m[b]
// the largest over the inputs, c = exp(s − m[b]) (1 when s = m[b], 0 when
// m[b] = −Inf) is written to c[b·cs] and
//
//	y[b,k] (+)= w[k]·x[b·ld+k]·c     (first: =)
//
// The float32 instance takes the exp from ref.go's expFast (relative error < 1e-8), the float64 one from
// math.Exp. x: (B, ld) with ld ≥ K+1; w: (K); m: (B); y: (B, K).
func MixAcc[T Float](x []T, ld int, w []T, m, c []float64, cs int, y []float64, B, K int, first bool) {
	need("MixAcc", "x", x, rows(B, K+1, ld))
	need("MixAcc", "w", w, K)
	need("MixAcc", "m", m, B)
	need("MixAcc", "c", c, rows(B, 1, cs))
	need("MixAcc", "y", y, B*K)
	if is32[T]() && B > 0 && K > 0 {
		mixAcc32(f32(x), ld, f32(w), m, c, cs, y, B, K, first)
		return
	}
	mixAccRef(x, ld, w, m, c, cs, y, B, K, first)
}

// MixPairForward is the forward of one fold of a mixing layer with two
// inputs, in one pass over the rows: bit for bit MixAcc of x0 (first) and
// of x1, with m[b] = max(−Inf, s0, s1) (s_h = x_h[b·ld+K]), then NormRows
// with s = m, into out: (B, K+1). x0, x1: (B, ld) with ld ≥ K+1; w0, w1:
// (K); work: MixPairWork(K) float64s. It reports false, doing nothing,
// without a fused kernel (float64, or the pure-Go build); the caller then
// runs those kernels.
func MixPairForward[T Float](x0, x1 []T, ld int, w0, w1 []T, B, K int, out []T, work []float64) bool {
	if !is32[T]() || B == 0 || K == 0 {
		return false
	}
	needMixPair("MixPairForward", x0, x1, ld, w0, w1, B, K, work)
	need("MixPairForward", "out", out, B*(K+1))
	return mixPairForward32(f32(x0), f32(x1), ld, f32(w0), f32(w1), B, K, f32(out), work)
}

// MixPairWork is the float64 work area of MixPairForward and
// MixPairBackward.
func MixPairWork(K int) int { return 4 * K }

// needMixPair checks the arguments MixPairForward and MixPairBackward share.
func needMixPair[T Float](fn string, x0, x1 []T, ld int, w0, w1 []T, B, K int, work []float64) {
	need(fn, "x0", x0, rows(B, K+1, ld))
	need(fn, "x1", x1, rows(B, K+1, ld))
	need(fn, "w0", w0, K)
	need(fn, "w1", w1, K)
	need(fn, "work", work, MixPairWork(K))
}

// MixPairBackward is the backward of one fold of a mixing layer with two
// inputs, in one pass over the rows, given g: (B, K+1) the output's
// gradient: bit for bit the rows' sums as in MixPairForward, QuotF64 of g,
// then for each input h MixGradW into dw_h and MixGradX into dx_h (set_h:
// written). Any of dw0, dw1, dx0, dx1 may be empty (skipped). It reports
// false, doing nothing, without a fused kernel (see MixPairForward).
func MixPairBackward[T Float](x0, x1 []T, ld int, w0, w1, g []T, B, K int, dw0, dw1, dx0, dx1 []T, set0, set1 bool, work []float64) bool {
	if !is32[T]() || B == 0 || K == 0 {
		return false
	}
	needMixPair("MixPairBackward", x0, x1, ld, w0, w1, B, K, work)
	need("MixPairBackward", "g", g, B*(K+1))
	for _, d := range [][]T{dw0, dw1} {
		if len(d) > 0 {
			need("MixPairBackward", "dw", d, K)
		}
	}
	for _, d := range [][]T{dx0, dx1} {
		if len(d) > 0 {
			need("MixPairBackward", "dx", d, rows(B, K, ld))
		}
	}
	return mixPairBackward32(f32(x0), f32(x1), ld, f32(w0), f32(w1), f32(g), B, K, f32(dw0), f32(dw1), f32(dx0), f32(dx1), set0, set1, work)
}

// NormRows writes each of the B rows of y: (B, K) (entries ≥ 0) normalized
// by its maximum M: out[b] = [y[b]/M, s[b] + log M], exactly 1 at the
// maximum; [0…, −Inf] when M = 0; all NaN when the row has a NaN.
// out: (B, K+1).
func NormRows[T Float](y, s []float64, out []T, B, K int) {
	need("NormRows", "y", y, B*K)
	need("NormRows", "s", s, B)
	need("NormRows", "out", out, B*(K+1))
	if is32[T]() && B > 0 && K > 0 {
		normRows32(y, s, f32(out), B, K)
		return
	}
	normRowsRef(y, s, out, B, K)
}

// QuotF64 writes r[b,k] = g[b·ldg+k] / y[b,k] in float64, 0 where
// y[b,k] = 0. g: (B, K) with leading dimension ldg; y, r: (B, K).
func QuotF64[T Float](g []T, ldg int, y, r []float64, B, K int) {
	need("QuotF64", "g", g, rows(B, K, ldg))
	need("QuotF64", "y", y, B*K)
	need("QuotF64", "r", r, B*K)
	if is32[T]() && B > 0 && K > 0 {
		quot64x32(f32(g), ldg, y, r, B, K)
		return
	}
	quotF64Ref(g, ldg, y, r, B, K)
}

// MixGradW adds the weight gradient of one mixing input:
// dw[k] += Σ_b r[b,k]·x[b·ld+k]·c[b·cs], summed over b in increasing order
// in float64. r: (B, K); x: (B, ld); dw: (K).
func MixGradW[T Float](r []float64, x []T, ld int, c []float64, cs int, dw []T, B, K int) {
	need("MixGradW", "r", r, B*K)
	need("MixGradW", "x", x, rows(B, K, ld))
	need("MixGradW", "c", c, rows(B, 1, cs))
	need("MixGradW", "dw", dw, K)
	if is32[T]() && B > 0 && K > 0 {
		mixGradW32(r, f32(x), ld, c, cs, f32(dw), B, K)
		return
	}
	mixGradWRef(r, x, ld, c, cs, dw, B, K)
}

// MixGradX adds the input gradient of one mixing input:
// dx[b·ld+k] (+)= r[b,k]·w[k]·x[b·ld+k]·c[b·cs] (set: =), in float64.
// r: (B, K); w: (K); x, dx: (B, ld).
func MixGradX[T Float](r []float64, w, x []T, ld int, c []float64, cs int, dx []T, B, K int, set bool) {
	need("MixGradX", "r", r, B*K)
	need("MixGradX", "w", w, K)
	need("MixGradX", "x", x, rows(B, K, ld))
	need("MixGradX", "c", c, rows(B, 1, cs))
	need("MixGradX", "dx", dx, rows(B, K, ld))
	if is32[T]() && B > 0 && K > 0 {
		mixGradX32(r, f32(w), f32(x), ld, c, cs, f32(dx), B, K, set)
		return
	}
	mixGradXRef(r, w, x, ld, c, cs, dx, B, K, set)
}

// ScatterRows sums gradient rows by category: for every b not missing
// (miss nil, or miss[b·xs] false), with c = x[b·xs],
//
//	acc[c,k] += g[b·ldg+k],  tot[k] += g[b·ldg+k]     (float64, b in order)
//
// g: (B, K) with leading dimension ldg; x, miss: B entries with stride xs;
// acc: (C, K) for C above every x; tot: (K).
func ScatterRows[T Float](g []T, ldg int, x []uint8, xs int, miss []bool, acc, tot []float64, B, K int) {
	need("ScatterRows", "g", g, rows(B, K, ldg))
	need("ScatterRows", "x", x, rows(B, 1, xs))
	if miss != nil {
		need("ScatterRows", "miss", miss, rows(B, 1, xs))
	}
	need("ScatterRows", "tot", tot, K)
	for b := range B {
		need("ScatterRows", "acc", acc, (int(x[b*xs])+1)*K)
	}
	if is32[T]() && B > 0 && K > 0 {
		scatterRows32(f32(g), ldg, x, xs, miss, acc, tot, B, K)
		return
	}
	scatterRowsRef(g, ldg, x, xs, miss, acc, tot, B, K)
}

// CatGradSoftmax adds (set: writes) one variable's gradient of a softmax
// categorical layer: with p[k,c] = tab[c,k]·scale[c],
//
//	d[k,c] (+)= acc[c,k] − p[k,c]·tot[k]       (in float64)
//
// tab: (C, K); scale: (C); acc: (C, K); tot: (K); d: (K, C).
func CatGradSoftmax[T Float](tab []T, scale, acc, tot []float64, d []T, K, C int, set bool) {
	need("CatGradSoftmax", "tab", tab, C*K)
	need("CatGradSoftmax", "scale", scale, C)
	need("CatGradSoftmax", "acc", acc, C*K)
	need("CatGradSoftmax", "tot", tot, K)
	need("CatGradSoftmax", "d", d, K*C)
	if is32[T]() && K > 0 && C > 0 {
		catGradSoftmax32(f32(tab), scale, acc, tot, f32(d), K, C, set)
		return
	}
	catGradSoftmaxRef(tab, scale, acc, tot, d, K, C, set)
}

// FirstNonFinite returns the index of the first NaN or ±Inf in s, or −1.
func FirstNonFinite[T Float](s []T) int {
	if is32[T]() && len(s) > 0 {
		return firstNonFinite32(f32(s))
	}
	return firstNonFiniteRef(s)
}

// Add adds src into dst element-wise (len(dst) elements).
func Add[T Float](dst, src []T) {
	need("Add", "src", src, len(dst))
	if is32[T]() && len(dst) > 0 {
		add32(f32(dst), f32(src))
		return
	}
	addRef(dst, src)
}

// AddRows adds (set: copies) the first K entries of each of B rows of src
// into dst, both with leading dimension ld.
func AddRows[T Float](dst, src []T, ld, B, K int, set bool) {
	need("AddRows", "dst", dst, rows(B, K, ld))
	need("AddRows", "src", src, rows(B, K, ld))
	if is32[T]() && B > 0 && K > 0 {
		addRows32(f32(dst), f32(src), ld, B, K, set)
		return
	}
	addRowsRef(dst, src, ld, B, K, set)
}

// GemmRows computes, for i < M,
//
//	c[i·ldc + 0:N] (accumulate: +=, else =) Σ_{p<P} a[i·sai + p·sap] · b[p·ldb + 0:N]
//
// a product whose left factor is A (sai, sap = lda, 1) or Aᵀ (1, lda) and
// whose right factor is row-major: C = op(A)·B for the small shapes of
// circuit layers (K ≤ a few hundred), register-blocked without packing.
// The float32 C kernel fuses multiply-adds where the CPU has FMA; results
// may then differ from the reference loop in the last bits. It may read b
// past the N columns of a row, up to len(b) (never beyond): room after the
// matrix saves it copying the rows of a narrow panel.
func GemmRows[T Float](M, N, P int, a []T, sai, sap int, b []T, ldb int, accumulate bool, c []T, ldc int) {
	if M == 0 || N == 0 {
		return
	}
	if P > 0 {
		need("GemmRows", "a", a, (M-1)*sai+(P-1)*sap+1)
		need("GemmRows", "b", b, rows(P, N, ldb))
	}
	need("GemmRows", "c", c, rows(M, N, ldc))
	if is32[T]() && P > 0 {
		gemm32(M, N, P, f32(a), sai, sap, f32(b), ldb, accumulate, f32(c), ldc)
		return
	}
	gemmRef(M, N, P, a, sai, sap, b, ldb, accumulate, c, ldc)
}

// Transpose writes the transpose of the (rows, cols) block src (leading
// dimension ld) into dst: (cols, rows).
func Transpose[T Float](src []T, ld, rows, cols int, dst []T) {
	if rows == 0 || cols == 0 {
		return
	}
	need("Transpose", "src", src, (rows-1)*ld+cols)
	need("Transpose", "dst", dst, rows*cols)
	if is32[T]() {
		transpose32(f32(src), ld, rows, cols, f32(dst))
		return
	}
	transposeRef(src, ld, rows, cols, dst)
}

// Outer writes the row-wise outer products of a Tucker layer's two inputs:
// y[b, i·K + j] = x1[b·ld + i] · x2[b·ld + j]. x1, x2: (B, ld); y: (B, K²).
func Outer[T Float](x1, x2 []T, ld, B, K int, y []T) {
	need("Outer", "x1", x1, rows(B, K, ld))
	need("Outer", "x2", x2, rows(B, K, ld))
	need("Outer", "y", y, B*K*K)
	if is32[T]() && B > 0 && K > 0 {
		outer32(f32(x1), f32(x2), ld, B, K, f32(y))
		return
	}
	outerRef(x1, x2, ld, B, K, y)
}

// TuckerGradIn adds a Tucker layer's input gradients given D: (B, K²), the
// gradient of the outer products (each dot product summed in sixteen
// interleaved lanes):
//
//	dx1[b·ld + i] += x1[b·ld+i] · Σ_j D[b, i·K+j]·x2[b·ld+j]
//	dx2[b·ld + j] += x2[b·ld+j] · D[b, i·K+j] · x1[b·ld+i]   (over i in order)
//
// Either of dx1, dx2 may be nil.
func TuckerGradIn[T Float](d, x1, x2 []T, ld int, dx1, dx2 []T, B, K int) {
	need("TuckerGradIn", "d", d, B*K*K)
	need("TuckerGradIn", "x1", x1, rows(B, K, ld))
	need("TuckerGradIn", "x2", x2, rows(B, K, ld))
	if dx1 != nil {
		need("TuckerGradIn", "dx1", dx1, rows(B, K, ld))
	}
	if dx2 != nil {
		need("TuckerGradIn", "dx2", dx2, rows(B, K, ld))
	}
	if is32[T]() && B > 0 && K > 0 {
		tuckerGradIn32(f32(d), f32(x1), f32(x2), ld, f32(dx1), f32(dx2), B, K)
		return
	}
	tuckerGradInRef(d, x1, x2, ld, dx1, dx2, B, K)
}

// GemmMul adds (set: writes) mul ⊙ (the product of GemmRows) into c:
//
//	c[i·ldc + j] (+)= mul[i·ldm + j] · Σ_{p<P} a[i·sai + p·sap] · b[p·ldb + j]   (j < N)
//
// With AVX-512 the multiplication runs in the GEMM's epilogue; otherwise
// the product goes through work: (M, N) and then Hadamard.
func GemmMul[T Float](M, N, P int, a []T, sai, sap int, b []T, ldb int, mul []T, ldm int, set bool, c []T, ldc int, work []T) {
	if M == 0 || N == 0 {
		return
	}
	need("GemmMul", "mul", mul, rows(M, N, ldm))
	need("GemmMul", "c", c, rows(M, N, ldc))
	if is32[T]() && P > 0 {
		need("GemmMul", "a", a, (M-1)*sai+(P-1)*sap+1)
		need("GemmMul", "b", b, rows(P, N, ldb))
		if gemmMul32(M, N, P, f32(a), sai, sap, f32(b), ldb, f32(mul), ldm, !set, f32(c), ldc) {
			return
		}
	}
	need("GemmMul", "work", work, M*N)
	GemmRows(M, N, P, a, sai, sap, b, ldb, false, work, N)
	if ldm == ldc {
		Hadamard(mul, ldm, work, c, M, N, set)
		return
	}
	for i := range M {
		Hadamard(mul[i*ldm:], ldm, work[i*N:], c[i*ldc:], 1, N, set)
	}
}

// GatherRows writes one single-variable leaf of an input layer: for each of
// B samples with value c = x[b·xs], out[b] = [tab[c, 0:K], logScale[c]].
// tab: (C, K); logScale: (C); out: (B, K+1).
func GatherRows[T Float](tab []T, logScale []float64, K int, x []uint8, xs, B int, out []T) {
	need("GatherRows", "x", x, rows(B, 1, xs))
	need("GatherRows", "out", out, B*(K+1))
	for b := range B {
		need("GatherRows", "tab", tab, (int(x[b*xs])+1)*K)
		need("GatherRows", "logScale", logScale, int(x[b*xs])+1)
	}
	if is32[T]() && B > 0 && K > 0 {
		gatherRows32(f32(tab), logScale, K, x, xs, B, f32(out))
		return
	}
	gatherRowsRef(tab, logScale, K, x, xs, B, out)
}
