package kernel

import (
	"fmt"
	"math"
)

// Mixing is the mixing (sum) layer of a region with H partitions: unit k of
// fold f is a weighted sum of unit k of its H inputs (the Wiring's arity A
// is H, and Kin = Kout = K). With the inputs' scales aligned to
// m_b = max_h S_h and c_h = exp(S_h − m_b):
//
//	y_k = Σ_h w[f,h,k] · x_h[k] · c_h      (float64)
//	out = y / M_b,  S = m_b + log M_b,     M_b = max_k y_k
//
// Layouts (row-major):
//
//	w      (F, H, K)
//	srcs   s: (SrcFolds[s], B, K+1)
//	out    (F, B, K+1)
//
// Backward: with r_k = G_k / y_k (0 where y_k = 0),
// dlog x_h[k] += r_k w[f,h,k] x_h[k] c_h and dw[f,h,k] += Σ_b r_k x_h[k] c_h.
// A row whose inputs are all zero is written V = 0, S = −Inf. The backward
// recomputes y from the inputs (there is no cache), so Forward and Backward
// only need the same srcs and w. Not safe for concurrent use.
type Mixing[T Float] struct {
	gather[T]

	y, c  []float64 // per chunk (K), (H)
	r, cb []float64 // per chunk (B, K), (B, H): backward only

	srcs, dSrcs        [][]T
	w, out, g, dW      []T
	nc, size           int
	fwdChunk, bwdChunk func(int)
}

// NewMixing validates the wiring (Kin must equal Kout) and allocates the
// workspace. A (the number of mixed inputs H) may be 1.
func NewMixing[T Float](wr Wiring) (*Mixing[T], error) {
	l := &Mixing[T]{}
	if wr.Kin != wr.Kout {
		return nil, fmt.Errorf("kernel.NewMixing: Kin=%d, Kout=%d; a mixing layer keeps its units", wr.Kin, wr.Kout)
	}
	if err := l.gather.init(wr, "NewMixing"); err != nil {
		return nil, err
	}
	l.fwdChunk, l.bwdChunk = l.forwardChunk, l.backwardChunk
	return l, nil
}

func (l *Mixing[T]) check(name string, srcs [][]T, w, out []T) {
	l.checkSrcs(name, srcs, nil)
	if len(w) != l.F*l.A*l.Kin {
		panic(fmt.Sprintf("kernel.%s: weights have %d elements, want (%d, %d, %d)", name, len(w), l.F, l.A, l.Kin))
	}
	if len(out) != l.F*l.B*(l.Kin+1) {
		panic(fmt.Sprintf("kernel.%s: output has %d elements, want (%d, %d, %d)", name, len(out), l.F, l.B, l.Kin+1))
	}
}

func (l *Mixing[T]) workspace() {
	l.nc, l.size = chunks(l.F)
	l.y = grow(l.y, l.nc*l.Kin)
	l.c = grow(l.c, l.nc*l.A)
}

func (l *Mixing[T]) workspaceBackward() {
	l.workspace()
	l.r = grow(l.r, l.nc*l.B*l.Kin)
	l.cb = grow(l.cb, l.nc*l.B*l.A)
}

// Forward computes the layer.
//
//	srcs: s (SrcFolds[s], B, K+1), w: (F, H, K) -> out: (F, B, K+1)
func (l *Mixing[T]) Forward(srcs [][]T, w, out []T) {
	l.check("Mixing.Forward", srcs, w, out)
	l.workspace()
	l.srcs, l.w, l.out = srcs, w, out
	ParallelFor(l.nc, l.fwdChunk)
	l.srcs, l.w, l.out = nil, nil, nil
}

// sum computes y (float64) for fold f, sample b, and returns the aligned
// log-scale m (−Inf when every input row is zero; then y is all 0).
func (l *Mixing[T]) sum(f, b int, y, c []float64) float64 {
	H, K := l.A, l.Kin
	m := math.Inf(-1)
	for h := range H {
		c[h] = float64(l.in(l.srcs, f*H+h)[b*(K+1)+K])
		m = max(m, c[h])
	}
	if math.IsInf(m, -1) {
		clear(y)
		return m
	}
	for h := range H {
		if c[h] == m {
			c[h] = 1 // the largest input: skip the exp
		} else {
			c[h] = math.Exp(c[h] - m) // exp(−Inf) = 0 drops a zero input
		}
		ch := c[h]
		x := l.in(l.srcs, f*H+h)[b*(K+1) : b*(K+1)+K]
		w := l.w[(f*H+h)*K : (f*H+h+1)*K]
		w, y := w[:len(x)], y[:len(x)] // one bounds check, not one per k
		if h == 0 {
			for k, v := range x {
				y[k] = float64(w[k]) * float64(v) * ch
			}
			continue
		}
		for k, v := range x {
			y[k] += float64(w[k]) * float64(v) * ch
		}
	}
	return m
}

func (l *Mixing[T]) forwardChunk(ch int) {
	B, H, K := l.B, l.A, l.Kin
	y, c := l.y[ch*K:(ch+1)*K], l.c[ch*H:(ch+1)*H]
	for f := ch * l.size; f < min(l.F, (ch+1)*l.size); f++ {
		out := l.out[f*B*(K+1) : (f+1)*B*(K+1)]
		for b := range B {
			m := l.sum(f, b, y, c)
			normalize(y, m, out[b*(K+1):(b+1)*(K+1)])
		}
	}
}

// Backward adds the gradients of ℓ given g = ∂ℓ/∂(output log-values) into
// dSrcs (input log-values) and dW; either (or dSrcs[s]) may be nil (dW nil
// for frozen mixing weights).
//
//	g: (F, B, K+1) -> dSrcs: s (SrcFolds[s], B, K+1), dW: (F, H, K)
func (l *Mixing[T]) Backward(srcs [][]T, w, g []T, dSrcs [][]T, dW []T) {
	l.check("Mixing.Backward", srcs, w, g)
	l.checkSrcs("Mixing.Backward", srcs, dSrcs)
	if dW != nil && len(dW) != len(w) {
		panic(fmt.Sprintf("kernel.Mixing.Backward: dW has %d elements, want %d", len(dW), len(w)))
	}
	l.workspaceBackward()
	l.srcs, l.w, l.g, l.dSrcs, l.dW = srcs, w, g, dSrcs, dW
	ParallelFor(l.nc, l.bwdChunk)
	l.reduceInputs(dSrcs)
	l.srcs, l.w, l.g, l.dSrcs, l.dW = nil, nil, nil, nil, nil
}

func (l *Mixing[T]) backwardChunk(ch int) {
	B, H, K := l.B, l.A, l.Kin
	y := l.y[ch*K : (ch+1)*K]
	r, cb := l.r[ch*B*K:(ch+1)*B*K], l.cb[ch*B*H:(ch+1)*B*H]
	for f := ch * l.size; f < min(l.F, (ch+1)*l.size); f++ {
		g := l.g[f*B*(K+1) : (f+1)*B*(K+1)]
		// r = G ⊘ y (0 where y = 0, and for all-zero rows)   (B, K)
		for b := range B {
			rr, c := r[b*K:(b+1)*K], cb[b*H:(b+1)*H]
			if math.IsInf(l.sum(f, b, y, c), -1) {
				clear(rr)
				clear(c)
				continue
			}
			for k, v := range y {
				rr[k] = 0
				if v != 0 {
					rr[k] = float64(g[b*(K+1)+k]) / v
				}
			}
		}
		for h := range H {
			x := l.in(l.srcs, f*H+h)
			if l.dW != nil { // dw[f,h,k] += Σ_b r_k x_h[k] c_h, summed in float64
				dw := l.dW[(f*H+h)*K : (f*H+h+1)*K]
				for k := range K {
					s := 0.0
					for b := range B {
						s += r[b*K+k] * float64(x[b*(K+1)+k]) * cb[b*H+h]
					}
					dw[k] += T(s)
				}
			}
			if dx, set := l.dInSet(l.dSrcs, f*H+h); dx != nil { // dlog x_h[k] += r_k w x_h[k] c_h
				w := l.w[(f*H+h)*K : (f*H+h+1)*K]
				for b := range B {
					o, xr, rr, c := dx[b*(K+1):b*(K+1)+K], x[b*(K+1):b*(K+1)+K], r[b*K:(b+1)*K], cb[b*H+h]
					if set {
						for k, v := range xr {
							o[k] = T(rr[k] * float64(w[k]) * float64(v) * c)
						}
						continue
					}
					for k, v := range xr {
						o[k] += T(rr[k] * float64(w[k]) * float64(v) * c)
					}
				}
			}
		}
	}
}
