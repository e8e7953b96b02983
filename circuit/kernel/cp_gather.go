package kernel

import (
	"fmt"
	"sync"

	"github.com/tenpc/tenpc/internal/vec"
	"gonum.org/v1/gonum/blas/blas32"
	"gonum.org/v1/gonum/blas/blas64"
	"gonum.org/v1/gonum/blas/gonum"
)

// This file holds what every inner layer (CP, CP-R, Tucker, mixing) shares:
// the static wiring, the plan that sums input gradients race-free in a fixed
// order, fold chunking and the GEMM call.

// Wiring is the static description of a folded inner layer: F folds, each
// reading A inputs of Kin units from source buffers, writing Kout units, for
// a batch of B samples. Fold f reads its a-th input from Refs[f*A+a]; source
// s has SrcFolds[s] folds, so its buffer is (SrcFolds[s], B, Kin+1).
type Wiring struct {
	F, A, B   int
	Kin, Kout int
	Refs      []Ref
	SrcFolds  []int
}

func (w *Wiring) validate(layer string) error {
	if w.F <= 0 || w.A <= 0 || w.B <= 0 || w.Kin <= 0 || w.Kout <= 0 {
		return fmt.Errorf("kernel.%s: F=%d A=%d B=%d Kin=%d Kout=%d must all be positive", layer, w.F, w.A, w.B, w.Kin, w.Kout)
	}
	if len(w.Refs) != w.F*w.A {
		return fmt.Errorf("kernel.%s: %d refs, want F*A = %d", layer, len(w.Refs), w.F*w.A)
	}
	for i, r := range w.Refs {
		if r.Src < 0 || int(r.Src) >= len(w.SrcFolds) {
			return fmt.Errorf("kernel.%s: ref %d (fold %d, input %d) names source %d of %d", layer, i, i/w.A, i%w.A, r.Src, len(w.SrcFolds))
		}
		if r.Fold < 0 || int(r.Fold) >= w.SrcFolds[r.Src] {
			return fmt.Errorf("kernel.%s: ref %d (fold %d, input %d) names fold %d of source %d, which has %d", layer, i, i/w.A, i%w.A, r.Fold, r.Src, w.SrcFolds[r.Src])
		}
	}
	return nil
}

// gather holds a layer's wiring plus the reduction plan for its input
// gradients. A source fold read by exactly one ref gets its gradient added
// directly by the fold that reads it; a source fold read by several refs
// (several folds, or one fold twice) gets per-ref scratch slots that a
// second pass sums into the source's gradient in increasing ref order, in
// parallel over source folds. Both are deterministic for any worker count.
//
// Exception: in a layer whose kernel adds each gradient entry into dx as one
// rounded value (pairs; CP, CP-R and mixing), a fresh source fold read by
// exactly two refs is written directly by both, under a lock: the first
// writes, the second adds, and since a + b = b + a in floating point the
// result does not depend on which comes first. It saves the scratch blocks'
// round trip through memory.
type gather[T Float] struct {
	Wiring
	slot     []int32 // per ref: -1 (sole reader) or its scratch slot
	tgtStart []int32 // CSR over shared source folds: refs tgtRefs[tgtStart[t]:tgtStart[t+1]]
	tgtRefs  []int32
	scratch  []T // (slots, B, Kin+1), only the first Kin of each row used
	wt       []T // per chunk: a transposed weight block for gemmNT

	dSrcs  [][]T // argument of the running reduction
	reduce func(int)
	fresh  [][]bool // see SetFresh; nil outside a Backward that was given marks

	pairs   bool         // the kernel may write two-ref targets directly (see above)
	tgtOf   []int32      // per ref: its shared target, or -1
	direct  []bool       // per target, this Backward: written directly
	written []bool       // per target, this Backward: its first write is done
	mu      []sync.Mutex // per target: held while a ref writes it directly
}

// SetFresh declares, for the next Backward only, the source folds whose
// gradient holds leftovers rather than a gradient to add into:
// fresh[s][fold] (fresh, or fresh[s], nil: none of them). Backward writes the
// first contribution to a marked fold instead of adding it, and unmarks the
// fold; a marked fold it does not reach keeps its mark and its leftovers,
// for the caller to clear. It saves clearing gradient buffers before a
// backward pass.
func (g *gather[T]) SetFresh(fresh [][]bool) {
	if fresh != nil {
		if len(fresh) != len(g.SrcFolds) {
			panic(fmt.Sprintf("kernel.SetFresh: %d sources, want %d", len(fresh), len(g.SrcFolds)))
		}
		for s, f := range fresh {
			if f != nil && len(f) != g.SrcFolds[s] {
				panic(fmt.Sprintf("kernel.SetFresh: source %d has %d marks, want %d", s, len(f), g.SrcFolds[s]))
			}
		}
	}
	g.fresh = fresh
}

// takeFresh reports whether the source fold of ref r is marked fresh, and
// unmarks it. Only the one goroutine writing that fold may call it.
func (g *gather[T]) takeFresh(r Ref) bool {
	if g.fresh == nil || g.fresh[r.Src] == nil || !g.fresh[r.Src][r.Fold] {
		return false
	}
	g.fresh[r.Src][r.Fold] = false
	return true
}

// setScale zeroes the scale column of a (B, Kin+1) gradient block the
// caller has just written in set mode (kernels write only the first Kin
// entries of a row; a fresh fold's last column holds leftovers). The rows
// are in cache by then.
func (g *gather[T]) setScale(blk []T) {
	for b := range g.B {
		blk[b*(g.Kin+1)+g.Kin] = 0
	}
}

// growWT sizes the per-chunk scratch of gemmNT: nc chunks of n elements.
func (g *gather[T]) growWT(nc, n int) { g.wt = grow(g.wt, nc*n) }

// wtChunk is chunk c's gemmNT scratch of n elements.
func (g *gather[T]) wtChunk(c, n int) []T { return g.wt[c*n : (c+1)*n] }

func (g *gather[T]) init(w Wiring, layer string) error {
	if err := w.validate(layer); err != nil {
		return err
	}
	g.Wiring = w
	off := make([]int, len(w.SrcFolds)+1)
	for s, n := range w.SrcFolds {
		off[s+1] = off[s] + n
	}
	count := make([]int32, off[len(w.SrcFolds)])
	for _, r := range w.Refs {
		count[off[r.Src]+int(r.Fold)]++
	}
	// Number the shared targets in (source, fold) order; list each one's refs
	// in increasing ref order.
	tgt := make([]int32, len(count))
	nt := int32(0)
	for i, c := range count {
		tgt[i] = -1
		if c > 1 {
			tgt[i] = nt
			nt++
		}
	}
	g.tgtStart = make([]int32, nt+1)
	for i, c := range count {
		if tgt[i] >= 0 {
			g.tgtStart[tgt[i]+1] = c
		}
	}
	for t := range nt {
		g.tgtStart[t+1] += g.tgtStart[t]
	}
	g.tgtRefs = make([]int32, g.tgtStart[nt])
	fill := append([]int32(nil), g.tgtStart[:nt]...)
	g.slot = make([]int32, len(w.Refs))
	g.tgtOf = make([]int32, len(w.Refs))
	for i, r := range w.Refs {
		t := tgt[off[r.Src]+int(r.Fold)]
		g.tgtOf[i] = t
		if t < 0 {
			g.slot[i] = -1
			continue
		}
		g.slot[i] = fill[t]
		g.tgtRefs[fill[t]] = int32(i)
		fill[t]++
	}
	g.scratch = make([]T, len(g.tgtRefs)*w.B*(w.Kin+1))
	g.reduce = g.reduceTarget
	g.direct = make([]bool, nt)
	g.written = make([]bool, nt)
	g.mu = make([]sync.Mutex, nt)
	return nil
}

// beginBackward picks, for a Backward into dSrcs, the shared targets
// written directly: with pairs, the fresh ones read by two refs (their
// fresh marks are taken now, since both refs will write them).
func (g *gather[T]) beginBackward(dSrcs [][]T) {
	for t := range g.direct {
		g.direct[t] = false
		if !g.pairs || g.tgtStart[t+1]-g.tgtStart[t] != 2 || dSrcs == nil {
			continue
		}
		r := g.Refs[g.tgtRefs[g.tgtStart[t]]]
		if dSrcs[r.Src] != nil && g.takeFresh(r) {
			g.direct[t], g.written[t] = true, false
		}
	}
}

// checkSrcs panics unless srcs (and dSrcs, when not nil) match the wiring.
func (g *gather[T]) checkSrcs(layer string, srcs, dSrcs [][]T) {
	if len(srcs) != len(g.SrcFolds) {
		panic(fmt.Sprintf("kernel.%s: %d sources, want %d", layer, len(srcs), len(g.SrcFolds)))
	}
	row := g.B * (g.Kin + 1)
	for s, n := range g.SrcFolds {
		if len(srcs[s]) != n*row {
			panic(fmt.Sprintf("kernel.%s: source %d has %d elements, want (%d, %d, %d)", layer, s, len(srcs[s]), n, g.B, g.Kin+1))
		}
	}
	if dSrcs == nil {
		return
	}
	if len(dSrcs) != len(g.SrcFolds) {
		panic(fmt.Sprintf("kernel.%s: %d source gradients, want %d (or nil)", layer, len(dSrcs), len(g.SrcFolds)))
	}
	for s, n := range g.SrcFolds {
		if dSrcs[s] != nil && len(dSrcs[s]) != n*row {
			panic(fmt.Sprintf("kernel.%s: source gradient %d has %d elements, want (%d, %d, %d) or nil", layer, s, len(dSrcs[s]), n, g.B, g.Kin+1))
		}
	}
}

// in returns the (B, Kin+1) block that ref i reads.
func (g *gather[T]) in(srcs [][]T, i int) []T {
	r := g.Refs[i]
	n := g.B * (g.Kin + 1)
	return srcs[r.Src][int(r.Fold)*n : int(r.Fold)*n+n]
}

// dIn returns the (B, Kin+1) block into which ref i adds its input gradient,
// or nil when that source has no gradient. A scratch block or a fresh fold
// (see SetFresh) is cleared first.
func (g *gather[T]) dIn(dSrcs [][]T, i int) []T {
	blk, set := g.dInSet(dSrcs, i)
	if set {
		clear(blk)
	}
	return blk
}

// dInSet is dIn without the clearing: set reports a scratch block or a
// fresh fold, whose first Kin entries of every row the caller must write
// (not add), and then call setScale, since the block holds whatever the
// last call left there. Writing once instead of clearing and then adding
// saves a pass over the block. The caller calls done(i) once it has
// written the block.
func (g *gather[T]) dInSet(dSrcs [][]T, i int) (blk []T, set bool) {
	if dSrcs == nil {
		return nil, false
	}
	r := g.Refs[i]
	if dSrcs[r.Src] == nil {
		return nil, false
	}
	n := g.B * (g.Kin + 1)
	if s := g.slot[i]; s >= 0 {
		if t := g.tgtOf[i]; g.direct[t] {
			g.mu[t].Lock()
			set, g.written[t] = !g.written[t], true
			return dSrcs[r.Src][int(r.Fold)*n : int(r.Fold)*n+n], set
		}
		return g.scratch[int(s)*n : int(s)*n+n], true
	}
	return dSrcs[r.Src][int(r.Fold)*n : int(r.Fold)*n+n], g.takeFresh(r)
}

// done ends ref i's write of the block dInSet gave it.
func (g *gather[T]) done(i int) {
	if t := g.tgtOf[i]; t >= 0 && g.direct[t] {
		g.mu[t].Unlock()
	}
}

// reduceInputs adds the scratch blocks of shared source folds into dSrcs;
// it ends a Backward (the fresh marks given by SetFresh are dropped).
func (g *gather[T]) reduceInputs(dSrcs [][]T) {
	defer func() { g.fresh = nil }()
	if dSrcs == nil || len(g.tgtStart) <= 1 {
		return
	}
	g.dSrcs = dSrcs
	ParallelFor(len(g.tgtStart)-1, g.reduce)
	g.dSrcs = nil
}

func (g *gather[T]) reduceTarget(t int) {
	if g.direct[t] {
		return
	}
	refs := g.tgtRefs[g.tgtStart[t]:g.tgtStart[t+1]]
	r := g.Refs[refs[0]]
	if g.dSrcs[r.Src] == nil {
		return
	}
	n := g.B * (g.Kin + 1)
	dst := g.dSrcs[r.Src][int(r.Fold)*n : int(r.Fold)*n+n]
	set := g.takeFresh(r)
	for j, i := range refs {
		s := int(g.slot[i])
		vec.AddRows(dst, g.scratch[s*n:s*n+n], g.Kin+1, g.B, g.Kin, set && j == 0)
	}
	if set {
		g.setScale(dst)
	}
}

// chunks is the number of workers of a parallel pass over n folds: the pass
// runs ParallelFor(nc, …), worker c using scratch c and taking folds from
// a spread (see cursor) until none is left. Scratch indexed by worker is
// safe because ParallelFor runs each index on exactly one goroutine, and a
// fold's result does not depend on which worker computes it.
func chunks(n int) (nc int) { return max(1, min(workers(), n)) }

// grow returns s with length n, reallocating only when it is too short.
func grow[T any](s []T, n int) []T {
	if cap(s) < n {
		return make([]T, n)
	}
	return s[:n]
}

// gemm is Gemm with alpha = 1. gonum's pure-Go GEMM spawns goroutines (and
// allocates) once C spans 4 or more 64×64 blocks; kernels already run one
// goroutine per worker, so with that implementation C is computed in tiles
// of at most 128×64, which gonum runs serially. The tiling is fixed, so
// results do not depend on the worker count.
//
// float32 products without a transposed B go to vec.GemmRows when the C
// kernels are built in (beta must then be 0 or 1): at the sizes of circuit
// layers its unpacked, register-blocked loop beats both BLAS
// implementations. Products with a transposed B go through gemmNT.
func gemm[T Float](tA, tB bool, m, n, k int, a []T, lda int, b []T, ldb int, beta T, c []T, ldc int) {
	if nativeGemm && isFloat32[T]() && !tB && (beta == 0 || beta == 1) {
		gemmRows(tA, m, n, k, a, lda, b, ldb, beta == 1, c, ldc)
		return
	}
	if !pureGo[T]() || (m <= 128 && n <= 64) {
		Gemm(tA, tB, m, n, k, 1, a, lda, b, ldb, beta, c, ldc)
		return
	}
	const tm, tn = 128, 64
	for i0 := 0; i0 < m; i0 += tm {
		mi := min(tm, m-i0)
		ai := a[i0*lda:]
		if tA {
			ai = a[i0:]
		}
		for j0 := 0; j0 < n; j0 += tn {
			nj := min(tn, n-j0)
			bj := b[j0:]
			if tB {
				bj = b[j0*ldb:]
			}
			Gemm(tA, tB, mi, nj, k, 1, ai, lda, bj, ldb, beta, c[i0*ldc+j0:], ldc)
		}
	}
}

// nativeGemm: vec's float32 kernels are C (cgo build without purego).
var nativeGemm, _ = vec.Native()

// gemmNT computes C = A·Bᵀ (m×n, B: n×k), the product of a layer's inputs
// with its transposed weights. Through vec.GemmRows (float32, C kernels) B
// is first transposed into work: k·n elements of the calling chunk's own.
func gemmNT[T Float](m, n, k int, a []T, lda int, b []T, ldb int, c []T, ldc int, work []T) {
	if !nativeGemm || !isFloat32[T]() {
		gemm(false, true, m, n, k, a, lda, b, ldb, 0, c, ldc)
		return
	}
	vec.Transpose(b, ldb, n, k, work)
	vec.GemmRows(m, n, k, a, lda, 1, work, n, false, c, ldc)
}

// gemmRows is gemm (without transposed B) through vec.GemmRows.
func gemmRows[T Float](tA bool, m, n, k int, a []T, lda int, b []T, ldb int, accumulate bool, c []T, ldc int) {
	sai, sap := lda, 1
	if tA {
		sai, sap = 1, lda
	}
	vec.GemmRows(m, n, k, a, sai, sap, b, ldb, accumulate, c, ldc)
}

func pureGo[T Float]() bool {
	var z T
	switch any(z).(type) {
	case float32:
		_, ok := blas32.Implementation().(gonum.Implementation)
		return ok
	default:
		_, ok := blas64.Implementation().(gonum.Implementation)
		return ok
	}
}
