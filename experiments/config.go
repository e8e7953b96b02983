package experiments

import (
	"encoding/json"
	"fmt"
	"math"
	"time"

	"github.com/tenpc/tenpc/circuit"
	"github.com/tenpc/tenpc/data"
)

// Optimizer is the training algorithm.
type Optimizer int

const (
	// Adam is optim.Adam (PyTorch's update rule).
	Adam Optimizer = iota
	// SGD is plain stochastic gradient descent (optim.SGD).
	SGD
	// EM is expectation-maximization (circuit.EM; clamp or exp weights,
	// every input family); the learning rate is its step size in (0, 1].
	EM
)

var optimizers = enum[Optimizer]{"optimizer", []string{"adam", "sgd", "em"}}

func (o Optimizer) String() string { return optimizers.name(o) }

// ParseOptimizer parses "adam", "sgd" or "em".
func ParseOptimizer(s string) (Optimizer, error) { return optimizers.parse(s) }

// The values of TrainConfig.Monitor.
const (
	MonitorObjective = "objective"
	MonitorAccuracy  = "accuracy"
)

// TrainConfig is everything that determines a training run. It is written
// as config.json in the run's directory; a resumed run must have the same
// configuration except for Epochs and TimeBudget (which may grow) and the
// flags that say how to treat the directory (Resume, Force).
//
// Start from DefaultTrainConfig: it holds the reference protocol of
// docs/DESIGN.md ("Reference protocol"). The zero value is not a valid config.
type TrainConfig struct {
	// Dataset names the data: "mnist", "fashion-mnist", "debd:DIR/NAME"
	// (the DEBD set NAME in DIR/NAME/ or DIR) or "images:DIR" (a folder of
	// PNG/JPEG images, 64×64 RGB; test is a random 10%, drawn with SplitSeed).
	Dataset string
	// DataDir overrides where the MNIST / Fashion-MNIST files are ("" = the
	// standard location, see package data).
	DataDir string
	// Limit keeps only the first Limit samples of every split (0: all); for
	// quick runs and tests.
	Limit int
	// ValidFraction of the training set is held out at random for
	// validation (MNIST-style and image data; DEBD has its own file).
	// Default data.PaperValidFraction (5%); 0 disables validation and early
	// stopping.
	ValidFraction float64
	// SplitSeed seeds the validation split (default data.PaperSeed = 42).
	SplitSeed uint64

	// RG names the region graph (see RGVocabulary): qg, qt2, qt4,
	// pd[:D[:DEPTH]], rbt[:R[:DEPTH]], linear[:R[:shuffle]], ff[:R], cl
	// (Chow-Liu tree learnt from the training data) or FILE.json.
	RG string
	// Layer is the sum-product layer (default CP): a built-in one or one
	// registered with circuit.RegisterLayer.
	Layer circuit.Layer
	// Engine computes the layers (default circuit.Fused; circuit.Graph is
	// the reference composed of nn ops). A resumed run may change it.
	Engine circuit.Engine
	// Units is K, the units per region (default 16).
	Units int
	// Rank is the rank of CP-R layers (0: Units).
	Rank int
	// Input is the input distribution (default categorical).
	Input circuit.InputKind
	// Param is the weights' parameterization (default clamp).
	Param circuit.Param
	// MonoUnits, with Param Real, multiplies the squared circuit by a
	// monotonic one of this K: p = m·c²/Z (circuit.Options.MonoUnits; 0:
	// none).
	MonoUnits int
	// WeightInit is the inner weights' initializer (default uniform, the
	// reference protocol's); normal draws of either sign suit real weights.
	WeightInit circuit.Init
	// Scale maps raw values to Gaussian inputs (default ScaleNone; only
	// with Gaussian inputs). Likelihoods stay in the raw values' units.
	Scale Scale
	// Classes, when ≥ 2, trains a class-conditional circuit: one root unit
	// per class, p(x | y), on the dataset's labels (MNIST and
	// Fashion-MNIST: 10), with a uniform class prior (circuit.
	// CompileClassifier). 0 or 1: a density. The validation score and the
	// epoch metrics' NLLs are then the training objective, and results
	// carry the accuracy.
	Classes int
	// Discriminative is λ ∈ [0, 1], the weight of the cross-entropy of
	// p(y | x) against the joint NLL −log p(x, y) in a class-conditional
	// circuit's objective (default 0: generative).
	Discriminative float64

	// Optimizer is the training algorithm (default Adam).
	Optimizer Optimizer
	// LR is the learning rate (default 0.01).
	LR float64
	// BatchSize is the mini-batch size (default 256); evaluation uses it
	// too.
	BatchSize int
	// Epochs is the largest number of epochs (default 200).
	Epochs int
	// Patience stops training after this many epochs without a better
	// validation log-likelihood (default 5; 0: never stop early).
	Patience int
	// LRDecay and LRPatience reduce the learning rate on a plateau, as
	// PyTorch's ReduceLROnPlateau does: after every LRPatience epochs in a
	// row without a better validation score, the rate is multiplied by
	// LRDecay ∈ (0, 1). Default 0: the rate stays at LR. Adam and SGD only.
	LRDecay    float64
	LRPatience int
	// Monitor is the validation figure that picks the best model and
	// drives early stopping: MonitorObjective (default: the
	// log-likelihood, or a classifier's objective) or MonitorAccuracy (a
	// class-conditional circuit's accuracy, ties broken by the objective).
	Monitor string
	// PseudoCount, FullBatch and EMDecay set EM (Optimizer EM). PseudoCount
	// α ≥ 0 smooths every M-step (circuit.EMConfig.PseudoCount). FullBatch
	// pools an epoch's counts into one M-step (classic EM with LR 1);
	// otherwise every batch is one (online EM). EMDecay κ ≥ 0 decays the
	// step size with the epochs e done: LR·(1 + e)^(−κ) (circuit.EMDecay).
	PseudoCount float64
	FullBatch   bool
	EMDecay     float64
	// Soften, when not 0, trains on softened data (circuit.Softened): each
	// observed value reads as itself with probability Soften ∈ (1/C, 1] and
	// as each other value with the rest shared; the epochs' training NLL is
	// the softened one, validation and test read the data as they are.
	// Categorical and Bernoulli inputs.
	Soften float64
	// TimeBudget, when positive, bounds the training time: the time of the
	// run's epochs (training and validation), those of the earlier
	// processes of a resumed run included. No epoch starts that would end
	// past it, judging by the last epoch's duration, and an epoch still
	// running when it is spent (the first, or one slower than the last)
	// ends there, after at least one batch. The result then depends on the
	// machine's speed.
	TimeBudget time.Duration
	// Seed seeds the circuit's initialization and the batch order: epoch e
	// shuffles with a generator seeded by (Seed, e), so a resumed run draws
	// the same batches as an uninterrupted one.
	Seed uint64
	// Init, when set, starts from the parameters of this model file (which
	// must have the architecture the config asks for).
	Init string
	// MaxMemory, when positive, refuses a circuit whose training or
	// evaluation program would need more bytes than this (see
	// circuit.Options.MaxMemory), before anything is allocated or written;
	// 0 uses the memory the system reports available.
	MaxMemory int64

	// Out is the run's directory.
	Out string
	// Resume continues the run in Out from its last checkpoint.
	Resume bool
	// Force starts a new run in Out even if one is there (its files are
	// replaced).
	Force bool
}

// DefaultTrainConfig returns the reference protocol: QG, CP, K = 16,
// categorical inputs, clamp, Adam lr 0.01, batch 256, up to 200 epochs,
// patience 5, seed 42, validation = 5% of train drawn with seed 42.
func DefaultTrainConfig() TrainConfig {
	return TrainConfig{
		Dataset:       "mnist",
		ValidFraction: data.PaperValidFraction,
		SplitSeed:     data.PaperSeed,
		RG:            "qg",
		Layer:         circuit.CP,
		Units:         16,
		Input:         circuit.Categorical,
		Param:         circuit.Clamp,
		Optimizer:     Adam,
		LR:            0.01,
		BatchSize:     256,
		Epochs:        200,
		Patience:      5,
		Seed:          42,
	}
}

// Validate reports the first invalid or contradictory setting as an
// *InputError naming it.
func (c *TrainConfig) Validate() error {
	switch {
	case c.Dataset == "":
		return inputErrorf("no dataset given")
	case c.RG == "":
		return inputErrorf("no region graph given")
	case c.Units < 1:
		return inputErrorf("K (units) must be ≥ 1, got %d", c.Units)
	case c.Rank < 0:
		return inputErrorf("rank must be ≥ 0, got %d", c.Rank)
	case c.MonoUnits < 0:
		return inputErrorf("-mono-k must be ≥ 0, got %d", c.MonoUnits)
	case c.MonoUnits > 0 && c.Param != circuit.Real:
		return inputErrorf("-mono-k %d multiplies a squared circuit by a monotonic one; it needs -param real, got %v", c.MonoUnits, c.Param)
	case c.Rank > 0 && (c.Layer == circuit.CP || c.Layer == circuit.CPS || c.Layer == circuit.CPXS || c.Layer == circuit.Tucker):
		return inputErrorf("rank %d is only meaningful for cp-r layers, not %v", c.Rank, c.Layer)
	case !knownLayer(c.Layer):
		_, err := circuit.ParseLayer(string(c.Layer))
		return &InputError{err}
	case c.Engine != circuit.Fused && c.Engine != circuit.Graph:
		return inputErrorf("unknown engine %v", c.Engine)
	case c.Input < circuit.Categorical || c.Input > circuit.Embedding:
		return inputErrorf("unknown input %v", c.Input)
	case c.Param < circuit.Clamp || c.Param > circuit.Real:
		return inputErrorf("unknown parameterization %v", c.Param)
	case c.WeightInit < circuit.Uniform || c.WeightInit > circuit.Dirichlet:
		return inputErrorf("unknown weight initializer %v", c.WeightInit)
	case c.Scale < ScaleNone || c.Scale > ScaleStandard:
		return inputErrorf("unknown scale %v", c.Scale)
	case c.Scale != ScaleNone && c.Input != circuit.Gaussian:
		return inputErrorf("-scale %v applies to gaussian inputs, not %v", c.Scale, c.Input)
	case c.Classes < 0:
		return inputErrorf("classes must be ≥ 0, got %d", c.Classes)
	case !(c.Discriminative >= 0 && c.Discriminative <= 1):
		return inputErrorf("-discriminative is a weight in [0, 1], got %v", c.Discriminative)
	case c.Discriminative != 0 && c.Classes < 2:
		return inputErrorf("-discriminative %v weighs a classifier's objective; it needs -classes ≥ 2", c.Discriminative)
	case c.Classes >= 2 && c.Optimizer == EM:
		return inputErrorf("-optimizer em maximizes a density's likelihood; a classifier (-classes %d) trains with adam or sgd", c.Classes)
	case c.Optimizer < Adam || c.Optimizer > EM:
		return inputErrorf("unknown optimizer %v", c.Optimizer)
	case c.Optimizer == EM && c.LR > 1:
		return inputErrorf("with -optimizer em, -lr is EM's step size in (0, 1], got %v", c.LR)
	case !(c.PseudoCount >= 0) || math.IsInf(c.PseudoCount, 0):
		return inputErrorf("pseudo-count must be finite and ≥ 0, got %v", c.PseudoCount)
	case !(c.EMDecay >= 0) || math.IsInf(c.EMDecay, 0):
		return inputErrorf("EM decay must be finite and ≥ 0, got %v", c.EMDecay)
	case !(c.Soften == 0 || (c.Soften > 0 && c.Soften <= 1)):
		return inputErrorf("-soften %v: want 0 (off) or a probability β with 1/C < β ≤ 1", c.Soften)
	case c.Optimizer != EM && (c.PseudoCount != 0 || c.FullBatch || c.EMDecay != 0):
		return inputErrorf("-pseudo-count, -full-batch and -em-decay set EM; the optimizer is %v", c.Optimizer)
	case !(c.LR > 0) || c.LR > 1e6:
		return inputErrorf("learning rate must be positive and finite, got %v", c.LR)
	case c.BatchSize < 1:
		return inputErrorf("batch size must be ≥ 1, got %d", c.BatchSize)
	case c.Epochs < 1:
		return inputErrorf("epochs must be ≥ 1, got %d", c.Epochs)
	case c.Patience < 0:
		return inputErrorf("patience must be ≥ 0, got %d", c.Patience)
	case !(c.LRDecay >= 0 && c.LRDecay < 1):
		return inputErrorf("-lr-decay must be in [0, 1), got %v", c.LRDecay)
	case c.LRDecay > 0 && c.LRPatience < 1:
		return inputErrorf("-lr-decay needs -lr-patience ≥ 1, got %d", c.LRPatience)
	case c.LRDecay > 0 && c.Optimizer == EM:
		return inputErrorf("-lr-decay sets Adam's or SGD's rate; EM decays its step size with -em-decay")
	case c.Monitor != "" && c.Monitor != MonitorObjective && c.Monitor != MonitorAccuracy:
		return inputErrorf("unknown -monitor %q (want %s or %s)", c.Monitor, MonitorObjective, MonitorAccuracy)
	case c.Monitor == MonitorAccuracy && c.Classes < 2:
		return inputErrorf("-monitor accuracy needs a classifier: -classes ≥ 2")
	case c.TimeBudget < 0:
		return inputErrorf("time budget must be ≥ 0, got %v", c.TimeBudget)
	case c.Limit < 0:
		return inputErrorf("limit must be ≥ 0, got %d", c.Limit)
	case c.MaxMemory < 0:
		return inputErrorf("max memory must be ≥ 0, got %d", c.MaxMemory)
	case !(c.ValidFraction >= 0 && c.ValidFraction < 1):
		return inputErrorf("validation fraction must be in [0, 1), got %v", c.ValidFraction)
	case c.Out == "":
		return inputErrorf("no output directory given")
	case c.Resume && c.Force:
		return inputErrorf("-resume and -force contradict each other: resume continues the run in %s, force replaces it", c.Out)
	case c.Resume && c.Init != "":
		return inputErrorf("-resume and -init contradict each other: a resumed run starts from its checkpoint, not from %s", c.Init)
	}
	if _, err := ParseDatasetSpec(c.Dataset); err != nil {
		return err
	}
	if _, err := ParseRGSpec(c.RG); err != nil {
		return err
	}
	return nil
}

// configJSON is TrainConfig's JSON form: enumerations as their names, the
// time budget as a Go duration string.
type configJSON struct {
	Dataset       string  `json:"dataset"`
	DataDir       string  `json:"data_dir,omitempty"`
	Limit         int     `json:"limit,omitempty"`
	ValidFraction float64 `json:"valid_fraction"`
	SplitSeed     uint64  `json:"split_seed"`
	RG            string  `json:"rg"`
	Layer         string  `json:"layer"`
	Engine        string  `json:"engine,omitempty"`
	Units         int     `json:"k"`
	Rank          int     `json:"rank,omitempty"`
	MonoUnits     int     `json:"mono_k,omitempty"`
	Input         string  `json:"input"`
	Param         string  `json:"param"`
	Scale         string  `json:"scale,omitempty"`
	WeightInit    string  `json:"weight_init,omitempty"`
	Classes       int     `json:"classes,omitempty"`
	Disc          float64 `json:"discriminative,omitempty"`
	Optimizer     string  `json:"optimizer"`
	LR            float64 `json:"lr"`
	PseudoCount   float64 `json:"pseudo_count,omitempty"`
	FullBatch     bool    `json:"full_batch,omitempty"`
	EMDecay       float64 `json:"em_decay,omitempty"`
	Soften        float64 `json:"soften,omitempty"`
	BatchSize     int     `json:"batch_size"`
	Epochs        int     `json:"epochs"`
	Patience      int     `json:"patience"`
	LRDecay       float64 `json:"lr_decay,omitempty"`
	LRPatience    int     `json:"lr_patience,omitempty"`
	Monitor       string  `json:"monitor,omitempty"`
	TimeBudget    string  `json:"time_budget,omitempty"`
	Seed          uint64  `json:"seed"`
	Init          string  `json:"init,omitempty"`
	MaxMemory     int64   `json:"max_memory,omitempty"`
	Out           string  `json:"out"`
}

// MarshalJSON writes the config with its enumerations as names.
func (c TrainConfig) MarshalJSON() ([]byte, error) {
	j := configJSON{
		Dataset: c.Dataset, DataDir: c.DataDir, Limit: c.Limit,
		ValidFraction: c.ValidFraction, SplitSeed: c.SplitSeed,
		RG: c.RG, Layer: orCP(c.Layer).String(), Units: c.Units, Rank: c.Rank, MonoUnits: c.MonoUnits,
		Input: c.Input.String(), Param: c.Param.String(), Classes: c.Classes, Disc: c.Discriminative,
		Optimizer: c.Optimizer.String(), LR: c.LR, BatchSize: c.BatchSize,
		PseudoCount: c.PseudoCount, FullBatch: c.FullBatch, EMDecay: c.EMDecay, Soften: c.Soften,
		Epochs: c.Epochs, Patience: c.Patience, LRDecay: c.LRDecay, LRPatience: c.LRPatience, Monitor: c.Monitor, Seed: c.Seed, Init: c.Init, MaxMemory: c.MaxMemory, Out: c.Out,
	}
	if c.TimeBudget > 0 {
		j.TimeBudget = c.TimeBudget.String()
	}
	if c.Engine != circuit.Fused {
		j.Engine = c.Engine.String()
	}
	if c.Scale != ScaleNone {
		j.Scale = c.Scale.String()
	}
	if c.WeightInit != circuit.Uniform {
		j.WeightInit = c.WeightInit.String()
	}
	return json.Marshal(j)
}

// UnmarshalJSON reads what MarshalJSON writes.
func (c *TrainConfig) UnmarshalJSON(b []byte) error {
	var j configJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	out := TrainConfig{
		Dataset: j.Dataset, DataDir: j.DataDir, Limit: j.Limit,
		ValidFraction: j.ValidFraction, SplitSeed: j.SplitSeed,
		RG: j.RG, Units: j.Units, Rank: j.Rank, MonoUnits: j.MonoUnits, Classes: j.Classes, Discriminative: j.Disc, LR: j.LR, BatchSize: j.BatchSize,
		PseudoCount: j.PseudoCount, FullBatch: j.FullBatch, EMDecay: j.EMDecay, Soften: j.Soften,
		Epochs: j.Epochs, Patience: j.Patience, LRDecay: j.LRDecay, LRPatience: j.LRPatience, Monitor: j.Monitor, Seed: j.Seed, Init: j.Init, MaxMemory: j.MaxMemory, Out: j.Out,
	}
	var err error
	if out.Layer, err = circuit.ParseLayer(j.Layer); err != nil {
		return err
	}
	if out.Input, err = circuit.ParseInput(j.Input); err != nil {
		return err
	}
	if out.Param, err = circuit.ParseParam(j.Param); err != nil {
		return err
	}
	if out.Optimizer, err = ParseOptimizer(j.Optimizer); err != nil {
		return err
	}
	if j.Scale != "" {
		if out.Scale, err = ParseScale(j.Scale); err != nil {
			return err
		}
	}
	if j.Engine != "" {
		if out.Engine, err = circuit.ParseEngine(j.Engine); err != nil {
			return err
		}
	}
	if j.WeightInit != "" {
		if out.WeightInit, err = circuit.ParseInit(j.WeightInit); err != nil {
			return err
		}
	}
	if j.TimeBudget != "" {
		if out.TimeBudget, err = time.ParseDuration(j.TimeBudget); err != nil {
			return fmt.Errorf("time_budget: %w", err)
		}
	}
	*c = out
	return nil
}

// sameRun reports the first setting in which c and run (a stopped run's
// config) differ, ignoring what a resumed run may change: Epochs,
// TimeBudget, Init, MaxMemory, Out, Resume, Force and Engine. "" means
// none.
func (c TrainConfig) sameRun(run TrainConfig) string {
	a, b := c, run
	for _, x := range []*TrainConfig{&a, &b} {
		x.Epochs, x.TimeBudget, x.Init, x.MaxMemory, x.Out, x.Resume, x.Force = 0, 0, "", 0, "", false, false
		x.Engine = circuit.Fused
		if x.Monitor == "" {
			x.Monitor = MonitorObjective
		}
	}
	if a == b {
		return ""
	}
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	var ma, mb map[string]any
	_ = json.Unmarshal(ja, &ma)
	_ = json.Unmarshal(jb, &mb)
	for k, va := range ma {
		if fmt.Sprint(va) != fmt.Sprint(mb[k]) {
			return fmt.Sprintf("%s is %v here, %v in the run", k, va, mb[k])
		}
	}
	for k, vb := range mb {
		if _, ok := ma[k]; !ok {
			return fmt.Sprintf("%s is unset here, %v in the run", k, vb)
		}
	}
	return "the configuration differs"
}

// knownLayer reports whether l is a registered layer, or "" (CP, as in
// circuit.Options).
func knownLayer(l circuit.Layer) bool {
	_, err := circuit.ParseLayer(string(orCP(l)))
	return err == nil
}

// orCP is l, or CP for the zero value.
func orCP(l circuit.Layer) circuit.Layer {
	if l == "" {
		return circuit.CP
	}
	return l
}
