// Package kernel holds the numerical kernels behind tenpc's fused circuit
// layers: plain Go over slices, no Gorgonia. Package circuit wraps each
// kernel in an nn.Fused op (forward and fused backward), seeing it only
// through the Layer interface made by a Backend (CPU, this package's), and
// decides which folds feed which.
//
// # Representation between layers
//
// A folded layer with F folds, batch B and K units writes one buffer of shape
// (F, B, K+1), row-major. For fold f and sample b the row holds K scaled
// values V followed by one log-scale S:
//
//	row(f, b) = [V_0 … V_{K-1}, S]      log-value of unit k = S + log V_k
//
// with max_k V_k = 1 (or every V_k = 0 and S = -Inf when the unit values are
// all zero). Keeping linear values with a per-row scale, instead of log
// values, removes the per-element exp/log of log-space layers: the only
// per-element work left is the GEMM and a multiply. Products of several
// projections are formed in float64 before dividing by the row maximum, so
// tiny weights (1e-19 after clamping) cannot underflow a whole row in float32.
//
// # Gradients
//
// A gradient buffer has the shape of the buffer it belongs to. Entry k < K of
// row (f, b) is ∂ℓ/∂(log-value of unit k); entry K is unused and kept 0.
// Backward kernels ADD into the gradient buffers of their sources and into
// parameter gradients (callers zero them once per step), so several layers
// may read one source.
//
// # Gathering
//
// Fold f of a layer with arity A reads its a-th input from Ref(f*A+a): fold
// Ref.Fold of source buffer Ref.Src. Sources may differ in fold count but
// share B and K.
//
// # Determinism and parallelism
//
// Kernels run folds in parallel on Workers goroutines (GOMAXPROCS by
// default; BLAS calls stay single-threaded). Every reduction (a weight
// shared by several folds, a source read by several folds) is summed in a
// fixed order, so results are bit-identical for any number of workers.
// Workspaces are owned by the caller and reused: no allocation per call in
// steady state.
package kernel
