// Package experiments turns tenpc's libraries into reproducible runs: a
// typed TrainConfig, Train (data, region graph, circuit, optimizer, epochs
// with checkpoints, early stopping, plots), Evaluate, the queries behind
// `tenpc sample` and `tenpc complete`, the recipes of `tenpc recipe`, the
// region-graph tools of `tenpc rg` and the timings of `tenpc bench`
// (Bench, BenchSuite). cmd/tenpc only parses flags into these configs.
//
// # Region graphs by name
//
// Train, BuildRG and Bench name region graphs in one vocabulary, parsed by
// ParseRGSpec into an RGSpec and documented in RGVocabulary: qg, qt2, qt4,
// pd[:D[:DEPTH]], rbt[:R[:DEPTH]], linear[:R[:shuffle]], ff[:R], cl and
// FILE.json.
//
// # A run directory
//
// Train writes into TrainConfig.Out:
//
//	config.json       the TrainConfig (enumerations by name)
//	metrics.jsonl     one EpochMetrics per epoch: train/valid NLL and bpd, seconds
//	checkpoint.tenpc  parameters + optimizer state + progress after the last epoch
//	model.tenpc       the best model so far (highest validation log-likelihood)
//	curve.png         train/valid bpd per epoch
//	samples.png       a grid of 64 samples of the best model (image data)
//	result.json       the Result: test LL and bpd of the best model, history
//
// Every file is written atomically (a temporary file renamed over the old
// one), so a run killed at any point leaves a consistent directory, and
// nothing is written before the configuration, data, region graph, circuit
// and -init model have been checked: bad input leaves the directory as it
// was. Such failures are *InputError values (commands exit with status 2).
//
// # Determinism and resuming
//
// The circuit is initialised from TrainConfig.Seed; epoch e shuffles the
// training set with a PCG generator seeded by (Seed, e), so no generator
// state has to be saved. A checkpoint holds the parameters, the optimizer's
// arrays (Adam's moments and step count) and the progress (epoch, best
// validation LL, epochs without improvement), so a run stopped after any
// epoch and resumed with Resume is bit-identical to an uninterrupted one.
//
// # Model files
//
// A model file is an nn state file with the parameters and metadata naming
// the format ("tenpc-model", ModelVersion), the architecture (the region
// graph as JSON and the circuit options, see Arch) and what the model was
// trained on (ModelInfo). LoadModel rebuilds the circuit from it and
// refuses files of another format version or whose parameters do not fit
// the recorded architecture.
//
// # Protocol
//
// DefaultTrainConfig is the reference protocol (docs/DESIGN.md): validation is
// a random 5% of the training set (seed 42), test the official test set;
// bpd = −LL / (ln 2 · D); Adam, lr 0.01, batch 256, early stopping with
// patience 5 on validation LL, up to 200 epochs; clamp parameterization.
// Evaluation uses the training batch size, so `tenpc eval` reproduces a
// run's test log-likelihood exactly.
package experiments
