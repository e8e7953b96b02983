// Package decomp factors dense tensors: CP by alternating least squares,
// non-negative CP, Tucker by HOSVD and HOOI, and tensor trains by TT-SVD.
// It is the toolkit tenpc uses to compress circuit weight tensors and to
// build tensorized layers; it imports only the standard library and gonum,
// so circuit and nn can both use it. Every linear-algebra step is gonum's
// (mat.SVD, matrix products, LAPACK underneath). TensorLy's
// tensorly.decomposition is the reference for the models, conventions and
// defaults.
//
// # Tensors
//
// A Tensor is a shape and a row-major []float64 (the last index fastest, as
// NumPy's C order). New, FromSlice and Reshape build one; FromSlice and
// ToSlice convert from and to float32 or float64, and MatrixToSlice flattens
// a factor matrix the same way. All computation runs in float64, so a
// float32 input is decomposed exactly as its float64 values would be.
//
// The mode-n unfolding X₍ₙ₎ (Tensor.Unfold, inverse Fold) is the Iₙ × ∏_{m≠n} I_m
// matrix whose row iₙ lists the entries with that index, the remaining
// indices row-major in mode order: TensorLy's unfold, which differs from
// Kolda and Bader's column-major one by a column permutation. The mode-n
// product t ×ₙ M (Tensor.ModeProduct) of a J × Iₙ matrix M replaces mode n
// by size J with unfolding M·X₍ₙ₎. The Khatri–Rao products below use the
// matching order, the first factor's index slowest:
//
//	X₍ₙ₎ = Aₙ·Λ·(A₀ ⊙ … ⊙ Aₙ₋₁ ⊙ Aₙ₊₁ ⊙ … ⊙ A_{N−1})ᵀ.
//
// Errors are Frobenius norms; RelativeError is ‖X − X̂‖/‖X‖, and every
// result's Full returns X̂ as a Tensor.
//
// # CP
//
// A CP of rank R writes X ≈ Σᵣ λᵣ · a⁰ᵣ ∘ a¹ᵣ ∘ … ∘ a^{N−1}ᵣ. In a CP result
// Weights holds λ (length R, all ≥ 0) and Factors[n] is the Iₙ × R matrix
// whose columns are the aⁿᵣ, each of unit Euclidean norm; the scale of a
// component lives in its weight alone. A component whose weight is 0 has
// constant columns 1/√Iₙ, so that later sweeps may revive it. Components
// come in no particular order.
//
// CPALS updates each factor in turn to its exact least-squares value given
// the others: with M = X₍ₙ₎·K the product of the unfolding with the
// Khatri–Rao product K of the other factors, and V the Hadamard product of
// their R × R Gram matrices, Aₙ·Λ = M·V⁺ (V⁺ by SVD, NumPy's lstsq
// cut-off). NonNegativeCP updates the columns of B = Aₙ·Λ one at a time by
// HALS, each to max(0, bᵣ + (mᵣ − B·vᵣ)/vᵣᵣ), the exact non-negative
// minimizer for that column; every entry of its result is ≥ 0 exactly.
// Both methods minimize exactly over the block they update, so the error
// never increases: CP.Trace records the relative error of the start and
// after every sweep (one pass over all modes), and the tests hold it
// non-increasing to within 1e-12. A sweep costs about 2·N·R·∏Iₙ flops for
// the N products M, and one more such product for the error once it is
// below 1e-2; above that a cheap identity gives the error, its rounding
// well under 1e-12.
//
// The start is InitRandom (entries uniform on [0, 1), TensorLy's "random")
// or InitSVD (leading left singular vectors of each unfolding, their
// absolute values for NonNegativeCP; TensorLy's "svd"). Sweeps stop when the
// relative error changes by less than CPOptions.Tol or after MaxIter. CP
// fits have local minima and swamps (long stretches of slow progress): a fit
// that stopped on the tolerance may still be far from the best rank-R
// approximation, and more sweeps or another seed may help.
//
// # Tucker
//
// A Tucker decomposition writes X ≈ G ×₀ U₀ ×₁ U₁ … ×_{N−1} U_{N−1} with a
// core G of shape (r₀, …, r_{N−1}) and factors Uₙ of shape Iₙ × rₙ with
// orthonormal columns, so ‖X̂‖ = ‖G‖ and G = X ×ₙ Uₙᵀ over all modes. HOSVD
// takes Uₙ from the leading left singular vectors of X₍ₙ₎; its squared error
// is at most the sum over modes of the squared singular values it drops,
// and at rₙ = Iₙ it is exact. HOOI starts from HOSVD and repeatedly sets Uₙ
// to the leading left singular vectors of (X ×_{m≠n} U_mᵀ)₍ₙ₎, which
// maximizes ‖G‖ given the other factors: its error never increases and is
// at most HOSVD's. Tucker.Trace records the errors as CP.Trace does.
//
// # Tensor train
//
// A tensor train writes X[i₀, …, i_{d−1}] ≈ G₀[:, i₀, :]·G₁[:, i₁, :] ⋯
// G_{d−1}[:, i_{d−1}, :] with cores Gₖ of shape (rₖ, Iₖ, rₖ₊₁), r₀ = r_d = 1.
// TTSVD computes it left to right (Oseledets 2011, Algorithm 1): at bond k
// it takes the SVD of the remainder reshaped to (rₖ·Iₖ) × (Iₖ₊₁⋯I_{d−1}),
// keeps rₖ₊₁ left singular vectors as core k, and carries their projection
// of the remainder on. Every core but the last is left-orthonormal
// (reshaped to (rₖ·Iₖ) × rₖ₊₁ it has orthonormal columns). The rank kept at
// a bond is the smaller of its cap (TTOptions.MaxRank or MaxRanks) and the
// fewest singular values whose dropped tail has norm ≤ δ = ε/√(d−1)·‖X‖, ε
// being TTOptions.Tol; so with no binding cap ‖X − X̂‖ ≤ ε‖X‖. TT.Spectra
// holds every bond's singular values and TT.Discarded the dropped tails;
// ‖X − X̂‖ equals √(Σ discarded σ²) (TT.ErrorBound) up to rounding, because
// each bond's truncation error is orthogonal to the later ones. Without
// caps or tolerance the train is exact.
//
// A matrix becomes a tensor train by reshaping: a 1024 × 1024 weight matrix
// reshaped to ten modes of 4, or, for the TT-matrix layout, its row and
// column digits paired by Permute into five modes of 16.
//
// # Options, randomness and errors
//
// Each method takes an options struct whose nil pointer and zero fields
// mean the documented defaults (TensorLy's: 100 sweeps and tolerance 1e-8
// for CP, 100 sweeps and 1e-4 for HOOI; no truncation for TT-SVD). All
// randomness comes from CPOptions.Rand, or a PCG generator seeded with
// CPOptions.Seed: the same options and input give the same result.
//
// Bad arguments (a rank below 1, a shape that does not match its data, a
// mode out of range, a non-finite entry, a negative option) are reported
// before any work as an *InputError whose one-line message names the
// function and the input. The only numerical failure, an SVD that does not
// converge, is returned wrapping ErrSVD.
package decomp
