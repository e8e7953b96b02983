package kernel

// Layer is the kernel of one folded inner layer as a fused op calls it:
// the gathered sources and the layer's (reparameterized) parameters in,
// the output buffer out, all in the per-row scaled representation (see the
// package doc). Backward adds the gradients into dSrcs and dParams (a nil
// entry takes none). The fused op sees kernels only through this
// interface, so that a backend for another device can implement it over
// that device's buffers.
type Layer[T Float] interface {
	Forward(srcs, params [][]T, out []T)
	Backward(srcs, params [][]T, g []T, dSrcs, dParams [][]T)
	// SetFresh hands the next Backward the Fresh marks (see SetFresh on
	// the kernels) of every source, per fold, and of the first
	// FreshParams parameters.
	SetFresh(srcs, params [][]bool)
	FreshParams() int
}

// Backend makes the kernels of the built-in layers for one device.
type Backend[T Float] interface {
	// Name names the backend ("cpu").
	Name() string
	// CP makes a CP kernel (CP-XS and CP-S with a weight-fold map, see
	// NewCP); its parameters are the weights and, for CP-S, the scales.
	CP(w Wiring, wfold []int32) (Layer[T], error)
	// CPR makes a CP-R kernel of rank r; its parameters are U and O.
	CPR(w Wiring, r int) (Layer[T], error)
	// Tucker makes a Tucker kernel; its parameter is the core W.
	Tucker(w Wiring) (Layer[T], error)
	// Mixing makes a mixing kernel; its parameter is the mixing weights.
	Mixing(w Wiring) (Layer[T], error)
}

// CPU returns the backend of this package's kernels, which run on the CPU
// over Go slices.
func CPU[T Float]() Backend[T] { return cpu[T]{} }

type cpu[T Float] struct{}

func (cpu[T]) Name() string { return "cpu" }

func (cpu[T]) CP(w Wiring, wfold []int32) (Layer[T], error) {
	k, err := NewCP[T](w, wfold)
	if err != nil {
		return nil, err
	}
	return cpLayer[T]{k}, nil
}

func (cpu[T]) CPR(w Wiring, r int) (Layer[T], error) {
	k, err := NewCPR[T](w, r)
	if err != nil {
		return nil, err
	}
	return cprLayer[T]{k}, nil
}

func (cpu[T]) Tucker(w Wiring) (Layer[T], error) {
	k, err := NewTucker[T](w)
	if err != nil {
		return nil, err
	}
	return tuckerLayer[T]{k}, nil
}

func (cpu[T]) Mixing(w Wiring) (Layer[T], error) {
	k, err := NewMixing[T](w)
	if err != nil {
		return nil, err
	}
	return mixingLayer[T]{k}, nil
}

// cpLayer: params w and, for CP-S, scale.
type cpLayer[T Float] struct{ k *CP[T] }

func second[T Float](p [][]T) []T {
	if len(p) > 1 {
		return p[1]
	}
	return nil
}

func (l cpLayer[T]) Forward(srcs, p [][]T, out []T) { l.k.Forward(srcs, p[0], second(p), out) }
func (l cpLayer[T]) Backward(srcs, p [][]T, g []T, dSrcs, dP [][]T) {
	l.k.Backward(srcs, p[0], second(p), g, dSrcs, dP[0], second(dP))
}
func (l cpLayer[T]) SetFresh(srcs, p [][]bool) {
	l.k.SetFresh(srcs)
	l.k.SetFreshWeights(p[0])
}
func (l cpLayer[T]) FreshParams() int { return 1 }

// cprLayer: params U and O.
type cprLayer[T Float] struct{ k *CPR[T] }

func (l cprLayer[T]) Forward(srcs, p [][]T, out []T) { l.k.Forward(srcs, p[0], p[1], out) }
func (l cprLayer[T]) Backward(srcs, p [][]T, g []T, dSrcs, dP [][]T) {
	l.k.Backward(srcs, p[0], p[1], g, dSrcs, dP[0], dP[1])
}
func (l cprLayer[T]) SetFresh(srcs, _ [][]bool) { l.k.SetFresh(srcs) }
func (l cprLayer[T]) FreshParams() int          { return 0 }

// tuckerLayer: param W.
type tuckerLayer[T Float] struct{ k *Tucker[T] }

func (l tuckerLayer[T]) Forward(srcs, p [][]T, out []T) { l.k.Forward(srcs, p[0], out) }
func (l tuckerLayer[T]) Backward(srcs, p [][]T, g []T, dSrcs, dP [][]T) {
	l.k.Backward(srcs, p[0], g, dSrcs, dP[0])
}
func (l tuckerLayer[T]) SetFresh(srcs, _ [][]bool) { l.k.SetFresh(srcs) }
func (l tuckerLayer[T]) FreshParams() int          { return 0 }

// mixingLayer: param w.
type mixingLayer[T Float] struct{ k *Mixing[T] }

func (l mixingLayer[T]) Forward(srcs, p [][]T, out []T) { l.k.Forward(srcs, p[0], out) }
func (l mixingLayer[T]) Backward(srcs, p [][]T, g []T, dSrcs, dP [][]T) {
	l.k.Backward(srcs, p[0], g, dSrcs, dP[0])
}
func (l mixingLayer[T]) SetFresh(srcs, _ [][]bool) { l.k.SetFresh(srcs) }
func (l mixingLayer[T]) FreshParams() int          { return 0 }
