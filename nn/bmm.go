package nn

// Batched matrix products for Einsum, as an op of this package: the
// batches run in parallel, float32 products on the C kernels' GEMM
// (vec.GemmRows, made for the small matrices of folded layers, without a
// cgo call per batch), float64 ones on the selected BLAS; transposed
// operands are read in place, so the backward needs no Transpose op:
//
//	C = op(A)·op(B):  a (nb, m, k) or (nb, k, m) with ta, b (nb, k, n) or (nb, n, k) with tb -> c (nb, m, n)
//	dA = G·op(B)ᵀ (ta: op(B)·Gᵀ),  dB = op(A)ᵀ·G (tb: Gᵀ·op(A))

import (
	"fmt"
	"hash"

	"github.com/chewxy/hm"
	"github.com/tenpc/tenpc/internal/vec"
	"gonum.org/v1/gonum/blas"
	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// bmm returns op(a)·op(b) batch by batch.
func bmm(a, b *gorgonia.Node, ta, tb bool) (*gorgonia.Node, error) {
	sa, sb := nodeShape(a), nodeShape(b)
	if len(sa) != 3 || len(sb) != 3 || sa[0] != sb[0] {
		return nil, fmt.Errorf("batched matmul: shapes %v and %v", sa, sb)
	}
	op := &bmmOp{nb: sa[0], m: sa[1], k: sa[2], ta: ta, tb: tb}
	if ta {
		op.m, op.k = sa[2], sa[1]
	}
	kb, n := sb[1], sb[2]
	if tb {
		kb, n = sb[2], sb[1]
	}
	if kb != op.k {
		return nil, fmt.Errorf("batched matmul: op(a) is %d×%d, op(b) %d×%d", op.m, op.k, kb, n)
	}
	op.n = n
	return gorgonia.ApplyOp(op, a, b)
}

type bmmOp struct {
	buf         kept
	nb, m, k, n int
	ta, tb      bool
}

func (op *bmmOp) Arity() int { return 2 }
func (op *bmmOp) Type() hm.Type {
	a := hm.TypeVariable('a')
	t := tensorTypeOf(3, a)
	return hm.NewFnType(t, t, t)
}
func (op *bmmOp) InferShape(...gorgonia.DimSizer) (tensor.Shape, error) {
	return tensor.Shape{op.nb, op.m, op.n}, nil
}
func (op *bmmOp) ReturnsPtr() bool      { return false }
func (op *bmmOp) CallsExtern() bool     { return false }
func (op *bmmOp) OverwritesInput() int  { return -1 }
func (op *bmmOp) WriteHash(h hash.Hash) { fmt.Fprint(h, op.String()) }
func (op *bmmOp) Hashcode() uint32      { return opHash(op) }
func (op *bmmOp) String() string {
	return fmt.Sprintf("bmm{%d×(%d×%d·%d×%d) ta=%v tb=%v}", op.nb, op.m, op.k, op.k, op.n, op.ta, op.tb)
}

func (op *bmmOp) Do(in ...gorgonia.Value) (gorgonia.Value, error) {
	if len(in) != 2 {
		return nil, fmt.Errorf("%v: want 2 inputs, got %d", op, len(in))
	}
	da, err := floatData(op, in[0])
	if err != nil {
		return nil, err
	}
	db, err := floatData(op, in[1])
	if err != nil {
		return nil, err
	}
	out := tensor.Shape{op.nb, op.m, op.n}
	switch a := da.(type) {
	case []float32:
		c := keep[float32](&op.buf, op.nb*op.m*op.n, false)
		bmmKernel(op, a, db.([]float32), c)
		return newValue(tensor.Float32, out, c), nil
	case []float64:
		c := keep[float64](&op.buf, op.nb*op.m*op.n, false)
		bmmKernel(op, a, db.([]float64), c)
		return newValue(tensor.Float64, out, c), nil
	}
	return nil, fmt.Errorf("%v: unsupported data %T", op, da)
}

// bmmKernel computes every batch of c = op(a)·op(b), batches in parallel.
func bmmKernel[T float32 | float64](op *bmmOp, a, b, c []T) {
	m, k, n := op.m, op.k, op.n
	work := op.nb * m * n * max(k, 1)
	vec.Chunks(work, func(_, lo, hi int) {
		var bt []T // a transposed batch of b, for the C kernel
		for i := lo * op.nb / work; i < hi*op.nb/work; i++ {
			ai, bi, ci := a[i*m*k:(i+1)*m*k], b[i*k*n:(i+1)*k*n], c[i*m*n:(i+1)*m*n]
			if f32, ok := any(ai).([]float32); ok {
				native, _ := vec.Native()
				if !native {
					gemm32(op, f32, any(bi).([]float32), any(ci).([]float32))
					continue
				}
				sai, sap := k, 1 // A (m, k)
				if op.ta {
					sai, sap = 1, m // A stored (k, m)
				}
				rows := bi
				if op.tb {
					// B stored (n, k): the kernel reads B row-major (k, n).
					if bt == nil {
						bt = make([]T, k*n)
					}
					vec.Transpose(bi, k, n, k, bt)
					rows = bt
				}
				vec.GemmRows(m, n, k, f32, sai, sap, any(rows).([]float32), n, false, any(ci).([]float32), n)
				continue
			}
			gemm64(op, any(ai).([]float64), any(bi).([]float64), any(ci).([]float64))
		}
	})
}

// trans maps a transposed operand to BLAS's flag, with the leading
// dimension of the operand as stored.
func trans(t bool, rows, cols int) (blas.Transpose, int) {
	if t {
		return blas.Trans, rows
	}
	return blas.NoTrans, cols
}

func gemm32(op *bmmOp, a, b, c []float32) {
	tA, lda := trans(op.ta, op.m, op.k)
	tB, ldb := trans(op.tb, op.k, op.n)
	Gemm32().Sgemm(tA, tB, op.m, op.n, op.k, 1, a, lda, b, ldb, 0, c, op.n)
}

func gemm64(op *bmmOp, a, b, c []float64) {
	tA, lda := trans(op.ta, op.m, op.k)
	tB, ldb := trans(op.tb, op.k, op.n)
	Gemm64().Dgemm(tA, tB, op.m, op.n, op.k, 1, a, lda, b, ldb, 0, c, op.n)
}

func (op *bmmOp) DiffWRT(int) []bool { return []bool{true, true} }

func (op *bmmOp) SymDiff(inputs gorgonia.Nodes, output, grad *gorgonia.Node) (gorgonia.Nodes, error) {
	a, b := inputs[0], inputs[1]
	var da, db *gorgonia.Node
	var err error
	if op.ta {
		da, err = bmm(b, grad, op.tb, true) // op(B)·Gᵀ
	} else {
		da, err = bmm(grad, b, false, !op.tb) // G·op(B)ᵀ
	}
	if err != nil {
		return nil, err
	}
	if op.tb {
		db, err = bmm(grad, a, true, op.ta) // Gᵀ·op(A)
	} else {
		db, err = bmm(a, grad, !op.ta, false) // op(A)ᵀ·G
	}
	return gorgonia.Nodes{da, db}, err
}
