// Package circuit compiles a region graph and a layer choice into a folded
// tensorized probabilistic circuit, a tree of nn modules, trains it on one
// of two engines, and answers exact queries.
//
// # Model
//
// Every region of the region graph carries K units: input regions carry
// InputUnits distributions (categorical, Bernoulli, binomial or Gaussian; a
// leaf over several variables is the fully factorized product of
// per-variable distributions), inner regions Units sums, the root Classes
// units. Each partition is a sum-product layer (CP, CP-R, CP-S, CP-XS,
// Tucker, or a layer registered with RegisterLayer; see Layer); a region
// with several partitions adds a mixing layer, a unit-wise weighted sum of
// its partitions' outputs. Weights are non-negative: clamped (≥ ClampMin
// after every optimizer step, the reference protocol), softmax-normalized,
// or exp of a logit; real weights of either sign make a squared circuit
// (see Products and squared circuits).
//
// With Clamp or Exp weights (and always with CP-S scales, or a registered
// layer that is not LayerDef.Normalized) the circuit c(x) is unnormalized
// and log p(x) = log c(x) − log Z, Z being c with every variable integrated
// out; the compiled programs compute log Z in a second, batch-1 pass that
// shares the weights. With Softmax weights (and normalized layers) Z = 1 by
// construction.
//
// # Folding
//
// NewPlan groups partitions of equal height, arity and widths into one
// layer with F folds, and regions of equal height that mix equally many
// partitions into one mixing layer. The plan is plain data (see Plan.Write
// for a listing): each layer lists the earlier layers it reads (Sources) and,
// for fold f and input a, the source and fold it gathers (Refs[f·A+a]).
//
// Every layer family compiles every valid, smooth, decomposable region graph
// with one root, whatever its partitions' arity. CP, CP-R, CP-S and CP-XS
// fold a partition of A inputs as it is. Tucker's W (l1 ⊗ l2) takes two
// inputs (LayerDef.Binary), so PlanFor (which Build calls) first rewrites a
// graph with wider partitions by regiongraph.Binarize: each partition of
// A > 2 inputs becomes a balanced tree of A−1 binary partitions over A−2 new
// regions of K units, QT-4's 4-way blocks becoming QT-2's pairs. rg's region
// and partition ids keep their meaning in the plan, and the plan depends
// only on rg and the options, so a model rebuilt from its stored graph gets
// the same plan.
//
// # Modules
//
// Build turns the plan into a Circuit: the root module, holding the
// InputLayer and one InnerLayer per folded layer (Circuit.Layers[i] is
// Plan().Layers[i]): *MixingLayer for a mixing layer, *CPLayer, *CPRLayer,
// *TuckerLayer or a registered module for a sum-product layer. A module is
// a struct whose exported *nn.Param fields are its parameters, so
// nn.NamedParams names them by path ("input.logits", "layers.3.weight",
// "layers.3.out"), the names of model files, checkpoints and optimizer
// state, and nn.Summary prints the tree. Each inner layer's Forward maps
// the log-values x (F, A, B, Kin) it gathers from the layers below (fold
// f's a-th input for sample b) to its units' log-values (F, B, Kout), with
// nn ops: the paper's math as written, einsum contractions in log space
// (LogEinsumExp) and log-sum-exp.
//
// # Engines
//
// Options.Engine (or SetEngine) picks how compiled programs compute the
// layers:
//
//   - Fused (the default): every built-in layer is one nn.Fused op over a
//     kernel of package circuit/kernel with a hand-written backward, and
//     layers exchange per-row scaled linear values (F, B, K+1) instead of
//     log-values. It is the fast path.
//   - Graph: every layer runs its Forward, and Gorgonia differentiates the
//     graph. It is the reference the kernels are tested against (the two
//     agree to 1e-9 in float64), several times slower.
//
// A layer without a kernel (a registered one) runs its Forward on the fused
// engine too, between fused layers: a conversion op reads the scaled values
// below it as log-values, another converts its output back, and gradients
// flow through both. Circuit.Wire builds the same evaluation into a
// caller's graph, so a larger network (a classifier head on c(x) − log Z,
// say) trains through the circuit on either engine.
//
// # Writing a layer
//
// A sum-product layer is a module with a Forward (InnerLayer) and a
// factory registered by name (RegisterLayer), after which Options.Layer,
// ParseLayer and `tenpc train -layer NAME` (in a binary that imports the
// registering package) find it. The factory gets a LayerSpec (folds,
// arity, widths, rank, parameterization, initializer, element type and the
// seeded generator) and makes the parameters with LayerSpec.NewWeight; the
// Forward reads them through LayerSpec.Weights, which applies the circuit's
// parameterization. See ExampleRegisterLayer_custom for cirkit's CP-T in 45
// lines, trained and queried. Likelihoods, marginals and the partition
// function work for every layer; sampling needs Descender, MAP Descender
// and MaxProduct, and a query whose layer lacks one says which.
//
// # Queries
//
// The compiled Program is the fast path for likelihoods: LogLikelihood
// (with a per-sample mask of missing variables, integrated out),
// LogConditional and LogPartition. The exact queries on Circuit run the
// reference evaluator: the graph engine in float64, on a float64 copy of
// the circuit's current parameters, reading every layer's log-values; then
// a downward pass through each layer's Descent rule:
//
//   - LogProb, LogConditional: exact log p(x) and log p(x_q | x_e);
//   - Sample, SampleConditional: exact ancestral samples of p(x) or
//     p(x_u | x_o), top-down, each sum's term chosen with probability
//     proportional to weight × the term's value (from an upward pass), all
//     randomness from the caller's *rand.Rand;
//   - MAP: max-product upward pass (MaxForward) and backtracking. It is
//     exact for the MPE of the latent-augmented model (max over the
//     unobserved variables and over one term at every sum), not the
//     marginal MAP of the circuit in general; it returns log m(x*) − log Z.
//
// Gaussian inputs have …Float variants with closed-form integrals.
//
// Mixed inputs (Options.Columns) give every variable its own family, as
// tabular data need: categorical columns of their own sizes, Bernoulli,
// binomial and Gaussian columns in one circuit, each family one group of
// the input layer (InputLayer.Groups). Such a circuit takes float data
// through the …Float queries and float programs, a category as its index;
// a NaN entry of a program's data is a missing value, integrated out
// exactly. Every query above works on it, squared circuits and EM too; it
// runs on the graph engine.
//
// # Products and squared circuits
//
// Multiply(a, b) returns the product a(x)·b(x) of two compatible circuits
// (Compatible: structured decomposable with the same vtree, so that every
// region splits its scope one way in both; the first region where they
// differ is named otherwise) as a Circuit: region r carries K_a·K_b units,
// the products of a's and b's units of r, each layer is the Kronecker
// product of the two it pairs (product layers, built in for the CP family
// and Tucker, RegisterProduct for others), and the input units are products
// of input distributions, whose integrals are closed forms (Σ_c p(c) q(c);
// a product of Gaussians is a scaled Gaussian). Its partition function is
// ∫ a·b; Expectation(p, q) gives E_p[q] = ∫ p q. The product's parameters
// are its factors', and it runs on the graph engine (no fused kernel).
//
// With Param Real the weights are real numbers of either sign and the
// circuit is squared: p(x) = c(x)² / Z with Z = ∫ c² the partition function
// of Multiply(c, c) (Loconte et al., "Subtractive mixture models via
// squaring", ICLR 2024). It needs a structured-decomposable region graph
// (qt2, qt4, one-repetition random trees, Chow-Liu and linear trees) and
// computes in signed log-space: every value travels as log|v| and sign(v)
// (SignedLayer), sums are contractions shifted by their largest magnitude.
// Training evaluates 2·log|c(x)| − log Z; likelihoods with missing
// variables and conditionals evaluate c·c; sampling draws one variable at
// a time from its exact conditional (discrete inputs only); MAP is refused.
//
// # Training
//
// Compile(b, true) minimizes −mean log p(x) with any optim.Optimizer over
// Circuit.Params; CompileEM with NewEM runs EM (online or full-batch, with
// pseudo-count smoothing) for clamp or exp circuits with built-in layers and
// any input family. MemoryEstimate and Options.MaxMemory refuse programs
// that would not fit before anything is allocated.
//
// # Parameter counts
//
// With S input slots (the number of variables, or of (leaf, variable) pairs
// when a variable is in several leaves, see Plan.Slots), C values, Kin input
// and K inner units, a layer of F folds and arity A (H for mixing) has:
//
//	input  categorical S·Kin·C, Bernoulli/binomial S·Kin, Gaussian 2·S·Kin
//	CP     F·A·Kout·Kin
//	CP-XS  A·Kout·Kin
//	CP-S   A·Kout·Kin + F·Kout
//	CP-R   F·(A·R·Kin + Kout·R)
//	Tucker F·Kout·Kin²
//	mixing F·H·K
//
// where Kout is K, or Classes for the partitions of the root region.
package circuit
