// Package circuit compiles a region graph and a layer choice into a folded
// tensorized probabilistic circuit, trains it through nn's fused ops, and
// answers exact queries.
//
// # Model
//
// Every region of the region graph carries K units: input regions carry
// InputUnits distributions (categorical, Bernoulli, binomial or Gaussian; a
// leaf over several variables is the fully factorized product of
// per-variable distributions), inner regions Units sums, the root Classes
// units. Each partition is a sum-product layer (CP, CP-R, CP-S, CP-XS or
// Tucker; see Layer); a region with several partitions adds a mixing layer,
// a unit-wise weighted sum of its partitions' outputs. Weights are
// non-negative: clamped (≥ ClampMin after every optimizer step, the
// reference protocol), softmax-normalized, or exp of a logit.
//
// With Clamp or Exp weights (and always with CP-S scales) the circuit c(x)
// is unnormalized and log p(x) = log c(x) − log Z, Z being c with every
// variable integrated out; the compiled programs compute log Z in a second,
// batch-1 pass that shares the weights. With Softmax weights (and no CP-S)
// Z = 1 by construction.
//
// # Folding
//
// NewPlan groups partitions of equal height, arity and widths into one
// layer with F folds, and regions of equal height that mix equally many
// partitions into one mixing layer. The plan is plain data (see Plan.Write
// for a listing): each layer lists the earlier layers it reads (Sources) and,
// for fold f and input a, the source and fold it gathers (Refs[f·A+a]).
// Each folded layer becomes one nn.Fused op wrapping a kernel of package
// circuit/kernel, with a fused backward.
//
// Every layer family compiles every valid, smooth, decomposable region graph
// with one root, whatever its partitions' arity. CP, CP-R, CP-S and CP-XS
// fold a partition of A inputs as it is. Tucker's W (l1 ⊗ l2) takes two
// inputs, so PlanFor (which Build calls) first rewrites a graph with wider
// partitions by regiongraph.Binarize: each partition of A > 2 inputs becomes
// a balanced tree of A−1 binary partitions over A−2 new regions of K units,
// QT-4's 4-way blocks becoming QT-2's pairs. rg's region and partition ids
// keep their meaning in the plan, and the plan depends only on rg and the
// options, so a model rebuilt from its stored graph gets the same plan.
//
// # Queries
//
// The compiled Program is the fast path for likelihoods: LogLikelihood
// (with a per-sample mask of missing variables, integrated out),
// LogConditional and LogPartition. The other queries run a plain float64
// log-space evaluation of the plan outside Gorgonia, reading the weights
// through EffectiveWeights:
//
//   - LogProb, LogConditional: exact log p(x) and log p(x_q | x_e);
//   - Sample, SampleConditional: exact ancestral samples of p(x) or
//     p(x_u | x_o), top-down, each sum's term chosen with probability
//     proportional to weight × the term's value (from an upward pass), all
//     randomness from the caller's *rand.Rand;
//   - MAP: max-product upward pass and backtracking. It is exact for the MPE
//     of the latent-augmented model (max over the unobserved variables and
//     over one term at every sum), not the marginal MAP of the circuit in
//     general; it returns log m(x*) − log Z.
//
// Gaussian inputs have …Float variants with closed-form integrals.
//
// # Training
//
// Compile(b, true) minimizes −mean log p(x) with any optim.Optimizer;
// CompileEM with NewEM runs (online) EM for clamp circuits with categorical
// inputs. MemoryEstimate and Options.MaxMemory refuse programs that would
// not fit before anything is allocated.
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
