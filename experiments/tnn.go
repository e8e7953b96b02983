package experiments

// Tensorized neural networks (`tenpc tnn`): the MLP and CNN of the
// tnn-mnist recipe, each weight layer dense or a tensor network (MPO,
// Tucker, CP; package nn), described by a TNNSpec that model files carry,
// and trained with TrainClassifier.

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"

	"github.com/sirupsen/logrus"

	"github.com/tenpc/tenpc/nn"
)

// TNFormat is how a weight layer is stored.
type TNFormat int

const (
	DenseFormat TNFormat = iota
	MPOFormat
	TuckerFormat
	CPFormat
)

var tnFormatNames = []string{"dense", "mpo", "tucker", "cp"}

func (f TNFormat) String() string {
	if f < 0 || int(f) >= len(tnFormatNames) {
		return fmt.Sprintf("TNFormat(%d)", int(f))
	}
	return tnFormatNames[f]
}

// ParseTNFormat parses "dense", "mpo", "tucker" or "cp".
func ParseTNFormat(s string) (TNFormat, error) {
	if i := slices.Index(tnFormatNames, s); i >= 0 {
		return TNFormat(i), nil
	}
	return 0, inputErrorf("unknown layer format %q (want %s)", s, strings.Join(tnFormatNames, ", "))
}

func (f TNFormat) MarshalText() ([]byte, error) { return []byte(f.String()), nil }

func (f *TNFormat) UnmarshalText(b []byte) error {
	v, err := ParseTNFormat(string(b))
	if err != nil {
		return err
	}
	*f = v
	return nil
}

// TNLayerSpec describes one weight layer.
type TNLayerSpec struct {
	Name   string   `json:"name"`
	Format TNFormat `json:"format"`
	// OutModes and InModes factorize the layer's matrix (Out, In); a
	// convolution's In is in-channels·kh·kw. Empty for a dense layer.
	OutModes []int `json:"out_modes,omitempty"`
	InModes  []int `json:"in_modes,omitempty"`
	// Ranks: the MPO's bond dimensions, the Tucker core's shape (out then
	// in), or the CP rank [R].
	Ranks []int `json:"ranks,omitempty"`
}

// TNNSpec describes a network: an architecture and the format of each of
// its weight layers.
type TNNSpec struct {
	Arch   string        `json:"arch"`
	Layers []TNLayerSpec `json:"layers"`
}

// tnnLayerDef is a weight layer of an architecture.
type tnnLayerDef struct {
	name    string
	conv    bool
	in, out int // features, or channels of a convolution
	kernel  int // convolution: kernel side
	size    int // convolution: input side (square images)
	relu    bool
	pool    bool // max-pool 2 after the ReLU
}

// rows and cols are the layer's matrix dimensions (Out, In).
func (l tnnLayerDef) rows() int { return l.out }
func (l tnnLayerDef) cols() int {
	if l.conv {
		return l.in * l.kernel * l.kernel
	}
	return l.in
}

// outSide is a convolution's output side.
func (l tnnLayerDef) outSide() int { return l.size - l.kernel + 1 }

// tnnArchs are the architectures: the MLP 784-1024-1024-10 (ReLU) and a
// small CNN (conv 5×5 16 → ReLU → max-pool 2 → conv 5×5 32 → ReLU →
// max-pool 2 → 256 → 10) for 28×28 grey images and 10 classes.
var tnnArchs = map[string][]tnnLayerDef{
	"mlp": {
		{name: "fc1", in: 784, out: 1024, relu: true},
		{name: "fc2", in: 1024, out: 1024, relu: true},
		{name: "fc3", in: 1024, out: 10},
	},
	"cnn": {
		{name: "conv1", conv: true, in: 1, out: 16, kernel: 5, size: 28, relu: true, pool: true},
		{name: "conv2", conv: true, in: 16, out: 32, kernel: 5, size: 12, relu: true, pool: true},
		{name: "fc1", in: 512, out: 256, relu: true},
		{name: "fc2", in: 256, out: 10},
	},
}

// tnnDefaultLayers are the layers compressed when none are named: the
// largest ones (the MLP's two hidden layers; the CNN's second convolution
// and first linear layer).
var tnnDefaultLayers = map[string][]string{"mlp": {"fc1", "fc2"}, "cnn": {"conv2", "fc1"}}

func archDefs(arch string) ([]tnnLayerDef, error) {
	defs, ok := tnnArchs[arch]
	if !ok {
		return nil, inputErrorf("unknown architecture %q (want mlp or cnn)", arch)
	}
	return defs, nil
}

// DenseTNNSpec is arch with every layer dense.
func DenseTNNSpec(arch string) (TNNSpec, error) {
	defs, err := archDefs(arch)
	if err != nil {
		return TNNSpec{}, err
	}
	s := TNNSpec{Arch: arch}
	for _, d := range defs {
		s.Layers = append(s.Layers, TNLayerSpec{Name: d.name, Format: DenseFormat})
	}
	return s, nil
}

// defaultModes factorizes a layer's matrix for a format: MPO and CP into d
// modes each (nn.Modes), a convolution's in modes ending with kh·kw
// (paired with an out mode of 1: the TT-convolution's spatial core);
// Tucker into two modes of a linear layer's sides, or for a convolution
// (out channels) ← (in channels, kh·kw).
func defaultModes(def tnnLayerDef, f TNFormat, d int) (out, in []int) {
	switch {
	case f == TuckerFormat && def.conv:
		return []int{def.out}, []int{def.in, def.kernel * def.kernel}
	case f == TuckerFormat:
		return nn.Modes(def.rows(), 2), nn.Modes(def.cols(), 2)
	case def.conv:
		return append(nn.Modes(def.out, d-1), 1), append(nn.Modes(def.in, d-1), def.kernel*def.kernel)
	}
	return nn.Modes(def.rows(), d), nn.Modes(def.cols(), d)
}

// mpoRanks caps rank at every bond's largest useful dimension.
func mpoRanks(out, in []int, rank int) []int {
	rs := make([]int, len(out)-1)
	for k := 1; k < len(out); k++ {
		left, right := 1, 1
		for l := range out {
			if l < k {
				left *= out[l] * in[l]
			} else {
				right *= out[l] * in[l]
			}
		}
		rs[k-1] = min(rank, left, right)
	}
	return rs
}

// specParams is the parameter count of a layer spec, bias included.
func specParams(def tnnLayerDef, s TNLayerSpec) int {
	n := def.rows() // bias
	switch s.Format {
	case DenseFormat:
		return n + def.rows()*def.cols()
	case MPOFormat:
		rs := append(append([]int{1}, s.Ranks...), 1)
		for k := range s.OutModes {
			n += rs[k] * s.OutModes[k] * s.InModes[k] * rs[k+1]
		}
	case TuckerFormat:
		core := 1
		for _, r := range s.Ranks {
			core *= r
		}
		n += core
		for k, m := range append(slices.Clone(s.OutModes), s.InModes...) {
			n += m * s.Ranks[k]
		}
	case CPFormat:
		for k := range s.OutModes {
			n += s.Ranks[0] * s.OutModes[k] * s.InModes[k]
		}
	}
	return n
}

// tensorizedSpec returns the spec of one layer in format f with d modes at
// MPO bond dimension rank; Tucker and CP take the ranks whose parameter
// count is nearest the MPO's (Tucker: one rank for the out modes and one
// for the in modes; CP: R). CP takes cpFastModes, in whose modes its
// contraction is far cheaper than in the MPO's (docs/TNN.md), unless the
// parameter count leaves it a single term there (R = 1, a Kronecker
// product); then it keeps the MPO's modes.
func tensorizedSpec(def tnnLayerDef, f TNFormat, rank, d int) TNLayerSpec {
	mo, mi := defaultModes(def, MPOFormat, d)
	mpo := TNLayerSpec{Name: def.name, Format: MPOFormat, OutModes: mo, InModes: mi, Ranks: mpoRanks(mo, mi, rank)}
	target := specParams(def, mpo)
	switch f {
	case MPOFormat:
		return mpo
	case CPFormat:
		if fo, fi, ok := cpFastModes(def, d); ok && cpRank(def, fo, fi, target) >= 2 {
			mo, mi = fo, fi
		}
		return TNLayerSpec{Name: def.name, Format: CPFormat, OutModes: mo, InModes: mi, Ranks: []int{cpRank(def, mo, mi, target)}}
	case TuckerFormat:
		to, ti := defaultModes(def, TuckerFormat, d)
		best, bestGap := TNLayerSpec{}, math.MaxInt
		for ro := 1; ro <= slices.Max(to); ro++ {
			for ri := 1; ri <= slices.Max(ti); ri++ {
				s := TNLayerSpec{Name: def.name, Format: TuckerFormat, OutModes: to, InModes: ti}
				for _, m := range to {
					s.Ranks = append(s.Ranks, min(ro, m))
				}
				for _, m := range ti {
					s.Ranks = append(s.Ranks, min(ri, m))
				}
				if gap := abs(specParams(def, s) - target); gap < bestGap {
					best, bestGap = s, gap
				}
			}
		}
		return best
	}
	return TNLayerSpec{Name: def.name, Format: DenseFormat}
}

// cpRank is the CP rank whose parameter count, bias included, is nearest
// target.
func cpRank(def tnnLayerDef, out, in []int, target int) int {
	per := 0
	for k := range out {
		per += out[k] * in[k]
	}
	return max(1, int(math.Round(float64(target-def.rows())/float64(per))))
}

// cpMACs is the multiply-adds per sample of a CP layer's contraction in
// the cheaper order (nn.CPLinear's chain): right to left
// Σ_k (n₀⋯n_{k−1})·R·m_k·n_k·(m_{k+1}⋯), left to right the mirror. A
// factor's cost is its size times the modes left over around it.
func cpMACs(out, in []int, r int) int {
	rtl, ltr := 0, 0
	for k := range out {
		rtl += sizeOf(in[:k]) * r * out[k] * in[k] * sizeOf(out[k+1:])
		ltr += sizeOf(out[:k]) * r * out[k] * in[k] * sizeOf(in[k+1:])
	}
	return min(rtl, ltr)
}

func sizeOf(modes []int) int {
	n := 1
	for _, m := range modes {
		n *= m
	}
	return n
}

// cpFastModes is the CP layout of d modes per side, every mode at least 2,
// with the fewest multiply-adds per parameter: the least leftover around
// each factor, which puts the large out mode first and the large in mode
// last, (O/2^{d−1}, 2, …, 2) ← (2, …, 2, I/2^{d−1}), where every factor's
// leftover is 2^{d−1}. A convolution keeps the kernel's mode last, paired
// with an out mode of 1, and lays out its channels. ok is false when a
// side cannot be split so.
func cpFastModes(def tnnLayerDef, d int) (out, in []int, ok bool) {
	outs, ins := factorizations(def.rows(), d), factorizations(def.cols(), d)
	if def.conv {
		outs, ins = factorizations(def.out, d-1), factorizations(def.in, d-1)
		for i := range outs {
			outs[i] = append(outs[i], 1)
		}
		for i := range ins {
			ins[i] = append(ins[i], def.kernel*def.kernel)
		}
	}
	bestCost, bestSize := 0, 1 // multiply-adds and parameters per rank
	for _, o := range outs {
		for _, i := range ins {
			cost, size := cpMACs(o, i, 1), 0
			for k := range o {
				size += o[k] * i[k]
			}
			if out == nil || cost*bestSize < bestCost*size {
				out, in, bestCost, bestSize = o, i, cost, size
			}
		}
	}
	return out, in, out != nil
}

// factorizations lists the ordered factorizations of n into k factors of
// at least 2, the largest first factor first.
func factorizations(n, k int) [][]int {
	if k == 1 {
		if n >= 2 {
			return [][]int{{n}}
		}
		return nil
	}
	var all [][]int
	for f := n / 2; f >= 2; f-- {
		if n%f == 0 {
			for _, rest := range factorizations(n/f, k-1) {
				all = append(all, append([]int{f}, rest...))
			}
		}
	}
	return all
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

// TensorizedTNNSpec is arch with the named layers (nil: the defaults) in
// format f: an MPO with d modes and bond dimension rank, or a Tucker or CP
// layer of about the MPO's parameter count.
func TensorizedTNNSpec(arch string, layers []string, f TNFormat, rank, d int) (TNNSpec, error) {
	s, err := DenseTNNSpec(arch)
	if err != nil {
		return s, err
	}
	if f == DenseFormat {
		return s, nil
	}
	if rank < 1 || d < 2 {
		return s, inputErrorf("rank %d and modes %d: want a rank ≥ 1 and at least 2 modes", rank, d)
	}
	defs, _ := archDefs(arch)
	idx, err := layerIndices(arch, layers)
	if err != nil {
		return s, err
	}
	for _, i := range idx {
		s.Layers[i] = tensorizedSpec(defs[i], f, rank, d)
	}
	return s, nil
}

// layerIndices resolves layer names (nil: the architecture's defaults).
func layerIndices(arch string, names []string) ([]int, error) {
	defs, err := archDefs(arch)
	if err != nil {
		return nil, err
	}
	if len(names) == 0 {
		names = tnnDefaultLayers[arch]
	}
	var idx []int
	for _, n := range names {
		i := slices.IndexFunc(defs, func(d tnnLayerDef) bool { return d.name == n })
		if i < 0 {
			var all []string
			for _, d := range defs {
				all = append(all, d.name)
			}
			return nil, inputErrorf("%s has no layer %q (its layers: %s)", arch, n, strings.Join(all, ", "))
		}
		if slices.Contains(idx, i) {
			return nil, inputErrorf("layer %q named twice", n)
		}
		idx = append(idx, i)
	}
	return idx, nil
}

// TNNet is a network built from a TNNSpec: Seq is the module (images
// (B, 1, 28, 28) to logits (B, 10)), Layers its weight layers by name
// (*nn.Linear, *nn.Conv2d, an nn.TNLinear or *nn.TNConv2d).
type TNNet struct {
	Spec   TNNSpec
	Seq    *nn.Sequential
	Layers map[string]nn.Module
	at     map[string]int // each weight layer's position in Seq.Layers
}

// BuildTNN builds spec's network, its parameters drawn from rng (dense
// layers as nn.Linear and nn.Conv2d, tensorized ones by their
// constructors); given supplies ready layers by name instead (the result of
// a compression).
func BuildTNN(spec TNNSpec, dt nn.DType, rng *rand.Rand, given map[string]nn.Module) (*TNNet, error) {
	defs, err := archDefs(spec.Arch)
	if err != nil {
		return nil, err
	}
	if len(spec.Layers) != len(defs) {
		return nil, inputErrorf("%s has %d weight layers, the spec %d", spec.Arch, len(defs), len(spec.Layers))
	}
	net := &TNNet{Spec: spec, Seq: nn.NewSequential(), Layers: map[string]nn.Module{}, at: map[string]int{}}
	add := func(m nn.Module) { net.Seq.Layers = append(net.Seq.Layers, m) }
	flat := false
	for i, def := range defs {
		ls := spec.Layers[i]
		if ls.Name != def.name {
			return nil, inputErrorf("%s layer %d is %q, the spec names %q", spec.Arch, i, def.name, ls.Name)
		}
		if !def.conv && !flat {
			add(nn.Func(nn.Flatten)) // (B, …) -> (B, features)
			flat = true
		}
		m, ok := given[def.name]
		if !ok {
			if m, err = newTNNLayer(def, ls, dt, rng); err != nil {
				return nil, &InputError{fmt.Errorf("layer %s: %w", def.name, err)}
			}
		}
		net.at[def.name] = len(net.Seq.Layers)
		add(m)
		net.Layers[def.name] = m
		if def.relu {
			add(nn.Func(nn.ReLU))
		}
		if def.pool {
			add(nn.NewMaxPool2d(2, 2, 0))
		}
	}
	return net, nil
}

// newTNNLayer draws a fresh layer of spec ls.
func newTNNLayer(def tnnLayerDef, ls TNLayerSpec, dt nn.DType, rng *rand.Rand) (nn.Module, error) {
	var m nn.TNLinear
	var err error
	switch ls.Format {
	case DenseFormat:
		if def.conv {
			return nn.NewConv2d(nn.Conv2dConfig{In: def.in, Out: def.out, Kernel: [2]int{def.kernel, def.kernel}}, dt, rng), nil
		}
		return nn.NewLinear(def.in, def.out, dt, true, rng), nil
	case MPOFormat:
		m, err = nn.NewMPOLinear(nn.MPOConfig{OutModes: ls.OutModes, InModes: ls.InModes, Ranks: ls.Ranks, Bias: true}, dt, rng)
	case TuckerFormat:
		if len(ls.Ranks) != len(ls.OutModes)+len(ls.InModes) {
			return nil, fmt.Errorf("Tucker ranks %v: want one per mode of %v, %v", ls.Ranks, ls.OutModes, ls.InModes)
		}
		p := len(ls.OutModes)
		m, err = nn.NewTuckerLinear(nn.TuckerConfig{OutModes: ls.OutModes, InModes: ls.InModes, OutRanks: ls.Ranks[:p], InRanks: ls.Ranks[p:], Bias: true}, dt, rng)
	case CPFormat:
		if len(ls.Ranks) != 1 {
			return nil, fmt.Errorf("CP ranks %v: want one rank", ls.Ranks)
		}
		m, err = nn.NewCPLinear(nn.CPConfig{OutModes: ls.OutModes, InModes: ls.InModes, Rank: ls.Ranks[0], Bias: true}, dt, rng)
	default:
		return nil, fmt.Errorf("format %v", ls.Format)
	}
	if err != nil {
		return nil, err
	}
	if out, in := m.Dims(); out != def.rows() || in != def.cols() {
		return nil, fmt.Errorf("modes %v ← %v make a %d×%d matrix, the layer is %d×%d", ls.OutModes, ls.InModes, out, in, def.rows(), def.cols())
	}
	return wrapConv(def, m)
}

// wrapConv makes a tensorized map a convolution when def is one.
func wrapConv(def tnnLayerDef, m nn.TNLinear) (nn.Module, error) {
	if !def.conv {
		return m, nil
	}
	return nn.NewTNConv2d(m, def.in, [2]int{def.kernel, def.kernel}, [2]int{}, [2]int{})
}

// tnnMeta is the metadata a TNN model file carries.
func tnnMeta(spec TNNSpec, dataset, origin string) (map[string]string, error) {
	b, err := json.Marshal(spec)
	if err != nil {
		return nil, err
	}
	return map[string]string{"tnn_spec": string(b), "dataset": dataset, "origin": origin}, nil
}

// classifier wraps the network for TrainClassifier.
func (n *TNNet) classifier(dataset, origin string) (Classifier, error) {
	meta, err := tnnMeta(n.Spec, dataset, origin)
	if err != nil {
		return Classifier{}, err
	}
	return Classifier{Net: n.Seq, InShape: []int{1, 28, 28}, DType: nn.Float32, Meta: meta}, nil
}

// TNNModel is a TNN model file as loaded: the network and what it was
// trained on.
type TNNModel struct {
	Net     *TNNet
	Dataset string
	Origin  string // how its weights started: "scratch seed N", or the compression
	Path    string
}

// LoadTNN reads a model or checkpoint file that TrainTNN or CompressTNN
// wrote and rebuilds its network.
func LoadTNN(path string) (*TNNModel, error) {
	st, err := nn.LoadState(path)
	if err != nil {
		return nil, &InputError{err}
	}
	if st.Meta["format"] != ClassifierModelFormat || st.Meta["tnn_spec"] == "" {
		return nil, inputErrorf("%s is not a tnn model file (format %q)", path, st.Meta["format"])
	}
	var spec TNNSpec
	if err := json.Unmarshal([]byte(st.Meta["tnn_spec"]), &spec); err != nil {
		return nil, inputErrorf("%s: bad network spec: %v", path, err)
	}
	net, err := BuildTNN(spec, nn.Float32, rand.New(rand.NewPCG(0, 0)), nil)
	if err != nil {
		return nil, inputErrorf("%s: %v", path, err)
	}
	if err := nn.LoadModuleState(net.Seq, st); err != nil {
		return nil, inputErrorf("%s: %v", path, err)
	}
	return &TNNModel{Net: net, Dataset: st.Meta["dataset"], Origin: st.Meta["origin"], Path: path}, nil
}

// TNNTrainConfig configures TrainTNN.
type TNNTrainConfig struct {
	Arch    string // "mlp" or "cnn"
	Dataset string // "mnist" or "fashion-mnist"
	DataDir string
	// Format, Layers, Rank and Modes tensorize layers from the start
	// (trained from scratch): Layers (nil: the defaults) in Format, an MPO
	// of Modes modes (default 4) and bond dimension Rank, Tucker and CP at
	// its parameter count. DenseFormat (the default) trains the dense net.
	Format TNFormat
	Layers []string
	Rank   int
	Modes  int
	// Train holds the epochs, batch (default 128), learning rate, seed and
	// run directory.
	Train                 ClassifierConfig
	TrainLimit, TestLimit int
}

// TNNDefaultBatch is tnn training's default batch size.
const TNNDefaultBatch = 128

// TrainTNN builds the network cfg describes, from cfg.Train.Seed, and
// trains it with TrainClassifier.
func TrainTNN(ctx context.Context, cfg TNNTrainConfig, log *logrus.Logger) (*ClassifierResult, error) {
	m, d, err := cfg.prepare()
	if err != nil {
		return nil, err
	}
	return TrainClassifier(ctx, cfg.Train, m, d, log)
}

// prepare loads the data and builds the network.
func (cfg *TNNTrainConfig) prepare() (Classifier, ImageData, error) {
	if cfg.Modes == 0 {
		cfg.Modes = 4
	}
	if cfg.Train.Batch == 0 {
		cfg.Train.Batch = TNNDefaultBatch
	}
	spec, err := TensorizedTNNSpec(cfg.Arch, cfg.Layers, cfg.Format, cfg.Rank, cfg.Modes)
	if err != nil {
		return Classifier{}, ImageData{}, err
	}
	d, err := LoadImageData(cfg.Dataset, cfg.DataDir, cfg.TrainLimit, cfg.TestLimit)
	if err != nil {
		return Classifier{}, ImageData{}, err
	}
	net, err := BuildTNN(spec, nn.Float32, rand.New(rand.NewPCG(cfg.Train.Seed, 0x7e11)), nil)
	if err != nil {
		return Classifier{}, ImageData{}, err
	}
	m, err := net.classifier(cfg.Dataset, "scratch seed "+strconv.FormatUint(cfg.Train.Seed, 10))
	return m, d, err
}
