package experiments

// Looking into a TNN model: `tenpc tnn eval` (test accuracy, parameters
// and FLOPs per layer) and `tenpc tnn inspect` (the bonds' singular-value
// spectra and activation statistics, as CSV and PNG).

import (
	"encoding/csv"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/tenpc/tenpc/nn"
)

// TNNEvalConfig configures EvalTNN.
type TNNEvalConfig struct {
	Model            string
	Dataset, DataDir string // the dataset defaults to the model's
	TestLimit        int
}

// TNNLayerInfo describes one weight layer of a network.
type TNNLayerInfo struct {
	Name     string   `json:"name"`
	Format   TNFormat `json:"format"`
	Describe string   `json:"describe"`
	Params   int      `json:"params"`
	FLOPs    int64    `json:"flops"` // forward, per image
}

// TNNEvalResult is what EvalTNN measured.
type TNNEvalResult struct {
	Dataset  string         `json:"dataset"`
	N        int            `json:"n"`
	Accuracy float64        `json:"accuracy"`
	Params   int            `json:"params"`
	FLOPs    int64          `json:"flops"` // weight layers' forward FLOPs per image
	Layers   []TNNLayerInfo `json:"layers"`
}

// EvalTNN measures a model's test accuracy and lists its layers.
func EvalTNN(cfg TNNEvalConfig) (*TNNEvalResult, error) {
	m, err := LoadTNN(cfg.Model)
	if err != nil {
		return nil, err
	}
	dataset := cfg.Dataset
	if dataset == "" {
		dataset = m.Dataset
	}
	d, err := LoadImageData(dataset, cfg.DataDir, 0, cfg.TestLimit)
	if err != nil {
		return nil, err
	}
	acc, err := newClassifierEval(m.Net.Seq, []int{1, 28, 28}, nn.Float32, 1000, d.Mean, d.Std).accuracy(d.Test)
	if err != nil {
		return nil, err
	}
	res := &TNNEvalResult{Dataset: dataset, N: d.Test.N, Accuracy: acc, Params: nn.ParamCount(m.Net.Seq), Layers: m.Net.layerInfo()}
	for _, l := range res.Layers {
		res.FLOPs += l.FLOPs
	}
	return res, nil
}

// layerInfo describes every weight layer, FLOPs per image.
func (n *TNNet) layerInfo() []TNNLayerInfo {
	defs, _ := archDefs(n.Spec.Arch)
	var out []TNNLayerInfo
	for i, def := range defs {
		m := n.Layers[def.name]
		info := TNNLayerInfo{Name: def.name, Format: n.Spec.Layers[i].Format, Params: nn.ParamCount(m)}
		if d, ok := m.(nn.Describer); ok {
			info.Describe = d.Describe()
		}
		switch l := m.(type) {
		case *nn.TNConv2d:
			info.FLOPs = l.FLOPs(1, def.size, def.size)
			info.Describe += "; " + l.Map.(nn.Describer).Describe()
		case nn.TNLinear:
			info.FLOPs = l.FLOPs(1)
		case *nn.Conv2d:
			s := def.outSide()
			info.FLOPs = 2 * int64(def.rows()*def.cols()*s*s)
		default:
			info.FLOPs = 2 * int64(def.rows()*def.cols())
		}
		out = append(out, info)
	}
	return out
}

// TNNInspectConfig configures InspectTNN.
type TNNInspectConfig struct {
	Model string
	// Out receives spectra.csv, activations.csv and the plots.
	Out string
	// Layers to inspect (nil: every layer the architecture compresses by
	// default). A dense layer shows the TT-SVD spectra of its weight at
	// the MPO modes it would be compressed with, and no activations.
	Layers           []string
	Modes            int    // MPO modes for dense layers (default 4)
	Dataset, DataDir string // the images whose activations are measured; default the model's dataset
	Batch            int    // test images for the activation statistics (default 256)
}

// TNNInspectResult lists the files InspectTNN wrote.
type TNNInspectResult struct {
	Spectra, Activations string
	Plots                []string
}

// InspectTNN writes the bond spectra of the chosen layers (spectra.csv:
// layer, bond, index, singular value, value relative to the bond's
// largest, fraction of the bond's energy Σσ² kept up to this index) and the
// per-bond activation statistics of the first Batch test images
// (activations.csv: layer, bond, index, mean, std, rms, max |·|), and
// plots both per layer (spectra-LAYER.png on a log scale,
// activations-LAYER.png the rms).
func InspectTNN(cfg TNNInspectConfig) (*TNNInspectResult, error) {
	if cfg.Modes == 0 {
		cfg.Modes = 4
	}
	if cfg.Batch == 0 {
		cfg.Batch = 256
	}
	if cfg.Out == "" || cfg.Modes < 2 || cfg.Batch < 1 {
		return nil, inputErrorf("inspect: output directory %q, modes %d, batch %d: want a directory, ≥ 2 modes, a positive batch", cfg.Out, cfg.Modes, cfg.Batch)
	}
	m, err := LoadTNN(cfg.Model)
	if err != nil {
		return nil, err
	}
	idx, err := layerIndices(m.Net.Spec.Arch, cfg.Layers)
	if err != nil {
		return nil, err
	}
	dataset := cfg.Dataset
	if dataset == "" {
		dataset = m.Dataset
	}
	d, err := LoadImageData(dataset, cfg.DataDir, 0, cfg.Batch)
	if err != nil {
		return nil, err
	}
	inputs, err := layerInputs(m.Net, d, idx)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(cfg.Out, 0o755); err != nil {
		return nil, fmt.Errorf("create output directory: %w", err)
	}
	defs, _ := archDefs(m.Net.Spec.Arch)
	spec := [][]string{{"layer", "bond", "index", "value", "relative", "energy_kept"}}
	act := [][]string{{"layer", "bond", "index", "mean", "std", "rms", "max_abs"}}
	res := &TNNInspectResult{Spectra: filepath.Join(cfg.Out, "spectra.csv"), Activations: filepath.Join(cfg.Out, "activations.csv")}
	for _, i := range idx {
		def := defs[i]
		layer := m.Net.Layers[def.name]
		spectra, stats, err := inspectLayer(def, layer, inputs[def.name], d.Test.N, cfg.Modes)
		if err != nil {
			return nil, fmt.Errorf("inspect %s: %w", def.name, err)
		}
		sp := LinePlot{Title: def.name + ": bond spectra", XLabel: "index", YLabel: "singular value", LogY: true}
		for _, s := range spectra {
			var total float64
			for _, v := range s.Values {
				total += v * v
			}
			var kept float64
			ser := Series{Name: s.Bond}
			for j, v := range s.Values {
				kept += v * v
				spec = append(spec, []string{def.name, s.Bond, strconv.Itoa(j + 1), fmtG(v), fmtG(v / s.Values[0]), fmtG(kept / total)})
				ser.X, ser.Y = append(ser.X, float64(j+1)), append(ser.Y, v)
			}
			sp.Series = append(sp.Series, ser)
		}
		path := filepath.Join(cfg.Out, "spectra-"+def.name+".png")
		if err := sp.WritePNG(path, 640*Pixel, 400*Pixel); err != nil {
			return nil, err
		}
		res.Plots = append(res.Plots, path)
		if len(stats) == 0 {
			continue
		}
		ap := LinePlot{Title: def.name + ": bond activations", XLabel: "index", YLabel: "rms", LogY: true}
		for _, s := range stats {
			ser := Series{Name: s.Bond}
			for j := range s.RMS {
				act = append(act, []string{def.name, s.Bond, strconv.Itoa(j + 1), fmtG(s.Mean[j]), fmtG(s.Std[j]), fmtG(s.RMS[j]), fmtG(s.MaxAbs[j])})
				ser.X, ser.Y = append(ser.X, float64(j+1)), append(ser.Y, s.RMS[j])
			}
			ap.Series = append(ap.Series, ser)
		}
		path = filepath.Join(cfg.Out, "activations-"+def.name+".png")
		if err := ap.WritePNG(path, 640*Pixel, 400*Pixel); err != nil {
			return nil, err
		}
		res.Plots = append(res.Plots, path)
	}
	if err := writeCSV(res.Spectra, spec); err != nil {
		return nil, err
	}
	if err := writeCSV(res.Activations, act); err != nil {
		return nil, err
	}
	return res, nil
}

// inspectLayer returns a layer's spectra and, for a tensorized layer, the
// activation statistics of its input x (n images).
func inspectLayer(def tnnLayerDef, layer nn.Module, x []float64, n, modes int) ([]nn.BondSpectrum, []nn.BondStats, error) {
	switch l := layer.(type) {
	case *nn.TNConv2d:
		sp, err := l.Map.BondSpectra()
		if err != nil {
			return nil, nil, err
		}
		st, err := l.BondActivations(x, n, def.size, def.size)
		return sp, st, err
	case nn.TNLinear:
		sp, err := l.BondSpectra()
		if err != nil {
			return nil, nil, err
		}
		st, err := l.BondActivations(x, n)
		return sp, st, err
	}
	// A dense layer: the spectra TT-SVD would truncate.
	w, _ := layerWeights(layer)
	out, in := defaultModes(def, MPOFormat, modes)
	_, fit, err := nn.MPOFromDense(w, nil, out, in, nn.Truncation{}, nn.Float64)
	if err != nil {
		return nil, nil, err
	}
	var sp []nn.BondSpectrum
	for k, s := range fit.Spectra {
		sp = append(sp, nn.BondSpectrum{Bond: fmt.Sprintf("bond %d (TT-SVD of W)", k+1), Values: s})
	}
	return sp, nil, nil
}

// layerInputs runs the test images of d through the network and returns
// the input of each layer idx, as float64s.
func layerInputs(net *TNNet, d ImageData, idx []int) (map[string][]float64, error) {
	defs, _ := archDefs(net.Spec.Arch)
	want := map[int]string{} // position in Seq.Layers -> layer name
	for _, i := range idx {
		want[net.at[defs[i].name]] = defs[i].name
	}
	n := d.Test.N
	g := nn.NewGraph(nn.Float32)
	x := g.Input("x", n, 1, 28, 28)
	for j, l := range net.Seq.Layers {
		if name, ok := want[j]; ok {
			g.Output(name, x)
		}
		x = l.Forward(x)
	}
	p, err := g.Compile()
	if err != nil {
		return nil, fmt.Errorf("compile the network: %w", err)
	}
	batch := newImageBatch(n*d.Test.D, nn.Float32, d.Mean, d.Std)
	all := make([]int, n)
	for i := range all {
		all[i] = i
	}
	if err := p.Run(nn.Feed{"x": batch.fill(d.Test, all)}); err != nil {
		return nil, err
	}
	out := map[string][]float64{}
	for _, name := range want {
		b, err := p.Output(name)
		if err != nil {
			return nil, err
		}
		out[name] = b.Float64s()
	}
	return out, nil
}

func fmtG(v float64) string {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return ""
	}
	return strconv.FormatFloat(v, 'g', 6, 64)
}

// writeCSV writes rows to path atomically.
func writeCSV(path string, rows [][]string) error {
	var b strings.Builder
	w := csv.NewWriter(&b)
	if err := w.WriteAll(rows); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return writeFileAtomic(path, []byte(b.String()))
}
