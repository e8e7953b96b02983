package experiments

// Compression of a trained network (`tenpc tnn compress`): chosen weight
// layers of a saved model are replaced by tensor networks fitted to their
// weights (TT-SVD, HOSVD or CP-ALS, through package nn's FromDense), the
// test accuracy is measured, and the network is fine-tuned.

import (
	"context"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/sirupsen/logrus"

	"github.com/tenpc/tenpc/nn"
)

// TNNCompressConfig configures CompressTNN.
type TNNCompressConfig struct {
	// Model is the trained model file (TrainTNN's model.tenpc).
	Model string
	// Layers are the layers to tensorize (nil: the architecture's largest,
	// see TNNDefaultLayers).
	Layers []string
	// Format is MPOFormat, TuckerFormat or CPFormat.
	Format TNFormat
	// Rank is the MPO bond dimension; Tucker and CP take the ranks of about
	// the MPO's parameter count. With Tol, Rank is only a cap (0: none).
	Rank int
	// Tol, when positive, chooses each layer's ranks instead: MPO and
	// Tucker keep at each bond the fewest singular values whose discarded
	// tail has norm ≤ Tol/√bonds·‖W‖ (so ‖W − Ŵ‖ ≤ Tol·‖W‖); CP takes the
	// smallest rank whose fit reaches Tol.
	Tol float64
	// Modes is the number of MPO and CP modes (default 4).
	Modes int
	// Sweeps bounds CP-ALS (default 50).
	Sweeps int
	// Dataset defaults to the model's.
	Dataset, DataDir      string
	TrainLimit, TestLimit int
	// SourceAccuracy, when positive, is the model's test accuracy on this
	// test set, known from its training run and not measured again.
	SourceAccuracy float64
	// FineTune trains the compressed network afterwards (Epochs 0: not at
	// all; a zero LR means 1e-3, a zero batch TNNDefaultBatch). Its Out
	// receives compressed.tenpc and compress.json as well as the run.
	FineTune ClassifierConfig
}

// Files CompressTNN writes into FineTune.Out besides the run's.
const (
	CompressedModelFile = "compressed.tenpc" // the network right after compression
	CompressReportFile  = "compress.json"    // the TNNCompressResult
)

// TNNLayerFit reports the compression of one layer.
type TNNLayerFit struct {
	Name   string   `json:"name"`
	Format TNFormat `json:"format"`
	Ranks  []int    `json:"ranks"`
	// DenseParams and Params count the layer's weights before and after,
	// the bias excluded (it is kept as it was).
	DenseParams int `json:"dense_params"`
	Params      int `json:"params"`
	// RelError is ‖W − Ŵ‖/‖W‖; RelBound the fit's bound on it (NaN for CP,
	// written as null).
	RelError float64  `json:"rel_error"`
	RelBound *float64 `json:"rel_bound,omitempty"`
}

// TNNCompressResult is the outcome of CompressTNN (compress.json).
type TNNCompressResult struct {
	Source string        `json:"source"`
	Layers []TNNLayerFit `json:"layers"`
	// WeightsBefore and WeightsAfter sum the compressed layers' weights
	// (biases excluded); Compression is their ratio.
	WeightsBefore int     `json:"weights_before"`
	WeightsAfter  int     `json:"weights_after"`
	Compression   float64 `json:"compression"`
	// Params is the whole compressed network's parameter count, biases
	// included; SourceParams the source's.
	Params       int `json:"params"`
	SourceParams int `json:"source_params"`
	// Accuracies on the test set: the source model, the compressed one,
	// and after fine-tuning (absent without).
	SourceAccuracy    float64  `json:"source_accuracy"`
	Accuracy          float64  `json:"accuracy"`
	FineTunedAccuracy *float64 `json:"fine_tuned_accuracy,omitempty"`
	// Model is the final model file: the fine-tuned run's, or
	// compressed.tenpc without fine-tuning ("" without an output directory).
	Model    string            `json:"model,omitempty"`
	FineTune *ClassifierResult `json:"fine_tune,omitempty"`
	// Spec is the compressed network.
	Spec TNNSpec `json:"spec"`
}

func (c *TNNCompressConfig) resolve() error {
	if c.Modes == 0 {
		c.Modes = 4
	}
	if c.Sweeps == 0 {
		c.Sweeps = 50
	}
	if c.FineTune.LR == 0 {
		c.FineTune.LR = 1e-3
	}
	if c.FineTune.Batch == 0 {
		c.FineTune.Batch = TNNDefaultBatch
	}
	switch {
	case c.Model == "":
		return inputErrorf("compress: no model file")
	case c.Format == DenseFormat:
		return inputErrorf("compress: format dense compresses nothing (want mpo, tucker or cp)")
	case c.Rank < 0 || c.Modes < 2 || c.Sweeps < 0:
		return inputErrorf("compress: rank %d, modes %d, sweeps %d: want rank ≥ 0, modes ≥ 2, sweeps ≥ 0", c.Rank, c.Modes, c.Sweeps)
	case math.IsNaN(c.Tol) || c.Tol < 0 || c.Tol >= 1:
		return inputErrorf("compress: tolerance %v is not in [0, 1)", c.Tol)
	case c.Tol == 0 && c.Rank == 0:
		return inputErrorf("compress: give a rank or a tolerance")
	case c.FineTune.Epochs < 0:
		return inputErrorf("compress: fine-tuning epochs %d is negative", c.FineTune.Epochs)
	}
	return nil
}

// CompressTNN tensorizes cfg.Layers of the model in cfg.Model, reports the
// fit of every layer and the test accuracy before and after fine-tuning.
// With FineTune.Out the compressed network is kept there
// (compressed.tenpc, compress.json) and reused by a later call with the
// same settings, and the fine-tuning run resumes as TrainClassifier's do.
func CompressTNN(ctx context.Context, cfg TNNCompressConfig, log *logrus.Logger) (*TNNCompressResult, error) {
	if err := cfg.resolve(); err != nil {
		return nil, err
	}
	if log == nil {
		log = logrus.New()
	}
	src, err := LoadTNN(cfg.Model)
	if err != nil {
		return nil, err
	}
	dataset := cfg.Dataset
	if dataset == "" {
		dataset = src.Dataset
	}
	d, err := LoadImageData(dataset, cfg.DataDir, cfg.TrainLimit, cfg.TestLimit)
	if err != nil {
		return nil, err
	}
	origin := fmt.Sprintf("%s of %s: layers %v, rank %d, tolerance %g, modes %d", cfg.Format, cfg.Model, cfg.Layers, cfg.Rank, cfg.Tol, cfg.Modes)
	if cfg.Format == CPFormat {
		// The CP layout depends on the rank (see tensorizedSpec).
		layout, err := tnnLayout(src.Net.Spec.Arch, cfg.Layers, cfg.Format, max(cfg.Rank, 1), cfg.Modes)
		if err != nil {
			return nil, err
		}
		origin += fmt.Sprintf(", %d sweeps, %s", cfg.Sweeps, layout)
	}
	out := cfg.FineTune.Out
	var res *TNNCompressResult
	var net *TNNet
	if out != "" && !cfg.FineTune.Force && exists(filepath.Join(out, CompressedModelFile)) {
		// A compression with these settings was done: reuse it.
		var old TNNCompressResult
		if err := readJSON(filepath.Join(out, CompressReportFile), &old); err != nil {
			return nil, inputErrorf("%s: %v (pass -force to start over)", out, err)
		}
		m, err := LoadTNN(filepath.Join(out, CompressedModelFile))
		if err != nil {
			return nil, err
		}
		if m.Origin != origin {
			return nil, inputErrorf("%s holds another compression (%s); pass -force to replace it", out, m.Origin)
		}
		res, net = &old, m.Net
		log.WithField("dir", out).Info("compressed network found; not recompressing")
	} else {
		if res, net, err = compressNet(src, cfg, log); err != nil {
			return nil, err
		}
		res.Source, res.SourceAccuracy = cfg.Model, cfg.SourceAccuracy
		if res.SourceAccuracy <= 0 {
			ev := newClassifierEval(src.Net.Seq, []int{1, 28, 28}, nn.Float32, 1000, d.Mean, d.Std)
			if res.SourceAccuracy, err = ev.accuracy(d.Test); err != nil {
				return nil, err
			}
		}
		ev := newClassifierEval(net.Seq, []int{1, 28, 28}, nn.Float32, 1000, d.Mean, d.Std)
		if res.Accuracy, err = ev.accuracy(d.Test); err != nil {
			return nil, err
		}
		if out != "" {
			if err := os.MkdirAll(out, 0o755); err != nil {
				return nil, fmt.Errorf("create output directory: %w", err)
			}
			m, err := net.classifier(dataset, origin)
			if err != nil {
				return nil, err
			}
			if err := SaveClassifier(filepath.Join(out, CompressedModelFile), m); err != nil {
				return nil, err
			}
			res.Model = filepath.Join(out, CompressedModelFile)
			if err := writeJSON(filepath.Join(out, CompressReportFile), res); err != nil {
				return nil, err
			}
		}
	}
	log.WithFields(logrus.Fields{"compression": round4(res.Compression), "params": res.Params,
		"source_accuracy": round4(res.SourceAccuracy), "accuracy": round4(res.Accuracy)}).Info("compressed")
	if cfg.FineTune.Epochs == 0 {
		return res, nil
	}
	m, err := net.classifier(dataset, origin)
	if err != nil {
		return nil, err
	}
	ft := cfg.FineTune
	var run *ClassifierResult
	if out == "" {
		run, err = TrainClassifier(ctx, ft, m, d, log)
	} else {
		run, err = classifierOrResume(ctx, ft, m, d, ft.Force && !ft.Resume, log)
	}
	if err != nil {
		return nil, err
	}
	res.FineTune = run
	acc := run.TestAccuracy
	res.FineTunedAccuracy = &acc
	res.Model = run.Model
	if out != "" {
		if err := writeJSON(filepath.Join(out, CompressReportFile), res); err != nil {
			return nil, err
		}
	}
	return res, nil
}

// compressNet fits the chosen layers of src and assembles the network.
func compressNet(src *TNNModel, cfg TNNCompressConfig, log *logrus.Logger) (*TNNCompressResult, *TNNet, error) {
	spec := src.Net.Spec
	defs, _ := archDefs(spec.Arch)
	idx, err := layerIndices(spec.Arch, cfg.Layers)
	if err != nil {
		return nil, nil, err
	}
	given := map[string]nn.Module{}
	for name, m := range src.Net.Layers {
		given[name] = m
	}
	res := &TNNCompressResult{SourceParams: nn.ParamCount(src.Net.Seq)}
	newSpec := TNNSpec{Arch: spec.Arch, Layers: slices.Clone(spec.Layers)}
	for _, i := range idx {
		def := defs[i]
		w, b := layerWeights(src.Net.Layers[def.name])
		var tr nn.Truncation
		target := tensorizedSpec(def, cfg.Format, max(cfg.Rank, 1), cfg.Modes)
		switch {
		case cfg.Tol > 0:
			tr = nn.Truncation{Tol: cfg.Tol, Rank: cfg.Rank, Seed: 1, Sweeps: cfg.Sweeps}
		case cfg.Format == MPOFormat:
			tr = nn.Truncation{Rank: cfg.Rank}
		default:
			tr = nn.Truncation{Ranks: target.Ranks, Seed: 1, Sweeps: cfg.Sweeps}
		}
		var m nn.TNLinear
		var fit *nn.TNFit
		switch cfg.Format {
		case MPOFormat:
			m, fit, err = nn.MPOFromDense(w, b, target.OutModes, target.InModes, tr, nn.Float32)
		case TuckerFormat:
			m, fit, err = nn.TuckerFromDense(w, b, target.OutModes, target.InModes, tr, nn.Float32)
		case CPFormat:
			m, fit, err = nn.CPFromDense(w, b, target.OutModes, target.InModes, tr, nn.Float32)
		}
		if err != nil {
			return nil, nil, &InputError{fmt.Errorf("compress layer %s: %w", def.name, err)}
		}
		layer, err := wrapConv(def, m)
		if err != nil {
			return nil, nil, err
		}
		given[def.name] = layer
		ls := TNLayerSpec{Name: def.name, Format: cfg.Format, OutModes: target.OutModes, InModes: target.InModes, Ranks: fit.Ranks}
		newSpec.Layers[i] = ls
		lf := TNNLayerFit{Name: def.name, Format: cfg.Format, Ranks: fit.Ranks, DenseParams: len(w),
			Params: m.ParamCount() - len(b), RelError: fit.RelError()}
		if !math.IsNaN(fit.ErrorBound) && fit.Norm > 0 {
			rb := fit.ErrorBound / fit.Norm
			lf.RelBound = &rb
		}
		res.Layers = append(res.Layers, lf)
		res.WeightsBefore += lf.DenseParams
		res.WeightsAfter += lf.Params
		log.WithFields(logrus.Fields{"layer": def.name, "format": cfg.Format, "ranks": fit.Ranks, "params": lf.Params,
			"dense_params": lf.DenseParams, "rel_error": round4(lf.RelError)}).Info("layer compressed")
	}
	net, err := BuildTNN(newSpec, nn.Float32, nil, given)
	if err != nil {
		return nil, nil, err
	}
	res.Spec = newSpec
	res.Params = nn.ParamCount(net.Seq)
	res.Compression = float64(res.WeightsBefore) / float64(max(res.WeightsAfter, 1))
	return res, net, nil
}

// tnnLayout names the modes of the layers that TensorizedTNNSpec
// tensorizes: "fc1 128×2×2×2←2×2×2×98, fc2 …".
func tnnLayout(arch string, layers []string, f TNFormat, rank, d int) (string, error) {
	spec, err := TensorizedTNNSpec(arch, layers, f, rank, d)
	if err != nil {
		return "", err
	}
	var parts []string
	for _, l := range spec.Layers {
		if l.Format != DenseFormat {
			parts = append(parts, l.Name+" "+l.modes())
		}
	}
	return strings.Join(parts, ", "), nil
}

// modes writes a tensorized layer's modes, "128×2×2×2←2×2×2×98".
func (l TNLayerSpec) modes() string {
	join := func(ms []int) string {
		s := make([]string, len(ms))
		for i, m := range ms {
			s[i] = strconv.Itoa(m)
		}
		return strings.Join(s, "×")
	}
	return join(l.OutModes) + "←" + join(l.InModes)
}

// layerWeights returns a weight layer's matrix (Out, In) and bias: a dense
// layer's own, a tensorized layer's reconstruction (recompression).
func layerWeights(m nn.Module) (w, b []float64) {
	switch l := m.(type) {
	case *nn.Linear:
		return l.Weight.Value(), biasOf(l.Bias)
	case *nn.Conv2d:
		return l.Weight.Value(), biasOf(l.Bias)
	case *nn.TNConv2d:
		return l.Dense(), tnBias(l.Map)
	case nn.TNLinear:
		return l.Dense(), tnBias(l)
	}
	panic(fmt.Sprintf("experiments: layer of type %T", m))
}

func biasOf(p *nn.Param) []float64 {
	if p == nil {
		return nil
	}
	return p.Value()
}

// tnBias is a tensorized layer's bias.
func tnBias(m nn.TNLinear) []float64 {
	switch l := m.(type) {
	case *nn.MPOLinear:
		return biasOf(l.Bias)
	case *nn.TuckerLinear:
		return biasOf(l.Bias)
	case *nn.CPLinear:
		return biasOf(l.Bias)
	}
	return nil
}
